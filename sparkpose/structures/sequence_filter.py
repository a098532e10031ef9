"""Sequence filter: one trajectory's per-window poses made consistent in time.

Every window is estimated alone, and its errors are mostly of two kinds that its
neighbours (100 ms apart, a few degrees of true motion) expose: a near-symmetric copy of
the true attitude, and a wrong or missing estimate, alone or a few in a row. The filter

1. keeps each window's pose and its near-symmetric copies ``R · S_k`` (the body model's
   symmetries) as hypotheses and chooses, by Viterbi, the path through time that is
   smoothest under a random-walk motion model of the rotation (a step costs its squared
   angle over ``step_deg``² per window of time, capped so one bad window cannot bend the
   path; a copy other than the window's own costs ``flip_cost``); the path may leave up
   to ``max_skip`` windows in a row out at ``skip_cost`` each, so that a wrong window is
   passed over instead of followed;
2. smooths the kept poses by a robust, confidence-weighted local-linear fit in time, on
   SO(3) in the tangent space of the current estimate (no averaging of quaternions) and
   on R³ for the translation; reweighting (Cauchy, ``outlier_deg``) drops outliers, and
   windows left out or without an estimate get the fit of their neighbours (filled).

``causal=True`` uses only windows up to the current one (on board): each window's copy is
the best path ending there, a window left out holds the last kept pose, and by default
there is no fit (over the past alone it raised the error on the demo's selection sets).
The defaults were chosen on the demo's validation split and a generated selection set
(README, "Sequences, not windows: statuses and the sequence filter"). Arithmetic in
float64 torch; inputs and outputs numpy.
"""
import numpy as np
import torch

from .rotation import (
    axis_angle_to_quaternion,
    canonical_quaternion,
    matrix_to_quaternion,
    quaternion_multiply,
    quaternion_to_axis_angle,
)


def _conjugate(q: torch.Tensor) -> torch.Tensor:
    return torch.cat((-q[..., :3], q[..., 3:]), -1)


def _angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Geodesic angle (rad) between quaternions, broadcast."""
    return 2 * torch.acos((a * b).sum(-1).abs().clamp(max=1.0))


def choose_hypotheses(q: torch.Tensor, confidence: torch.Tensor, symmetries: torch.Tensor,
                      causal: bool, step: float, max_step_cost: float, flip_cost: float,
                      skip_cost: float, max_skip: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Viterbi over each window's symmetric copies, wrong windows left out.

    Only windows with confidence > 0 take part. A step of the path goes from window ``j``
    to a later ``m`` and costs its squared geodesic angle over ``step`` per window of
    time between them (capped at ``max_step_cost``) plus ``skip_cost`` for every window it
    leaves out (at most ``max_skip``); a copy other than the window's own costs
    ``flip_cost``. The path may start after and end before left-out windows. Causal: each
    window's copy is the best path ending there, and the window is kept when that beats
    every path that leaves it out.

    Returns:
        The chosen ``(N, 4)`` quaternions (windows without confidence unchanged) and
        ``(N,)`` whether each window is kept on the path.
    """
    sym_q = matrix_to_quaternion(symmetries)
    used = torch.nonzero(confidence > 0).flatten()
    kept = torch.zeros(len(q), dtype=torch.bool)
    if len(used) == 0:
        return q.clone(), kept
    hyps = quaternion_multiply(q[used, None], sym_q[None])      # (M, S, 4)
    num, count = hyps.shape[:2]
    emission = torch.full((count,), float(flip_cost), dtype=q.dtype)
    emission[0] = 0.0
    cost = torch.empty(num, count, dtype=q.dtype)
    back = torch.full((num, count, 2), -1, dtype=torch.long)
    for m in range(num):
        cost[m] = emission + skip_cost * m                       # the path starts here
        for j in range(max(0, m - max_skip - 1), m):
            gap = float(used[m] - used[j])
            angle = _angle(hyps[j][:, None], hyps[m][None]) / (step * gap)
            total = (cost[j][:, None] + (angle ** 2).clamp(max=max_step_cost)
                     + skip_cost * (m - j - 1))
            best, arg = total.min(0)
            better = best + emission < cost[m]
            cost[m] = torch.where(better, best + emission, cost[m])
            back[m, better, 0], back[m, better, 1] = j, arg[better]
    chosen = torch.zeros(num, dtype=torch.long)
    on_path = torch.zeros(num, dtype=torch.bool)
    if causal:
        for m in range(num):
            left_out = min((float(cost[j].min()) + skip_cost * (m - j)
                            for j in range(max(0, m - max_skip), m)), default=float('inf'))
            chosen[m], on_path[m] = cost[m].argmin(), float(cost[m].min()) <= left_out
    else:
        first = max(0, num - 1 - max_skip)
        ends = cost[first:].min(1).values + skip_cost * (num - 1 - torch.arange(first, num))
        m = first + int(ends.argmin())
        k = int(cost[m].argmin())
        while m >= 0:
            chosen[m], on_path[m] = k, True
            m, k = (int(v) for v in back[m, k])
    out = q.clone()
    out[used] = hyps[torch.arange(num), chosen]
    kept[used] = on_path
    return out, kept


def local_fit(q: torch.Tensor, t: torch.Tensor, weight: torch.Tensor, ref: torch.Tensor,
              half_width: int, bandwidth: float, causal: bool, exclude_self: bool = False
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weighted local-linear fit at every window: rotations in the tangent space at ``ref``.

    ``exclude_self`` leaves each window's own pose out (its prediction from the others).

    Returns the fitted ``q`` ``(N, 4)``, ``t`` ``(N, 3)`` and the total weight ``(N,)``
    each fit rests on (0: no neighbour with weight; the caller keeps ``ref`` there).
    """
    num = len(q)
    offsets = torch.arange(-half_width, 1 if causal else half_width + 1)
    index = torch.arange(num)[:, None] + offsets[None]
    inside = (index >= 0) & (index < num)
    index = index.clamp(0, num - 1)
    tau = offsets.to(q)[None].expand(num, -1)
    w = weight[index] * inside * torch.exp(-0.5 * (tau / bandwidth) ** 2)
    if exclude_self:
        w = w * (tau != 0)
    tangent = quaternion_to_axis_angle(quaternion_multiply(_conjugate(ref)[:, None], q[index]))
    s0, s1, s2 = w.sum(1), (w * tau).sum(1), (w * tau ** 2).sum(1)
    det = s0 * s2 - s1 ** 2
    linear = det > 1e-6 * s0.clamp(min=1e-12) ** 2

    def fit(values: torch.Tensor) -> torch.Tensor:
        m0 = (w[..., None] * values).sum(1)
        m1 = (w[..., None] * tau[..., None] * values).sum(1)
        mean = m0 / s0.clamp(min=1e-12)[:, None]
        line = (s2[:, None] * m0 - s1[:, None] * m1) / torch.where(linear, det, 1.0)[:, None]
        return torch.where(linear[:, None], line, mean)

    fitted_q = canonical_quaternion(quaternion_multiply(ref, axis_angle_to_quaternion(
        fit(tangent))))
    fitted_t = fit(t[index])
    return fitted_q, fitted_t, s0


def filter_pose_sequence(t: np.ndarray, q: np.ndarray, confidence: np.ndarray,
                         symmetries: np.ndarray | None = None, causal: bool = False,
                         track: bool = True, smooth: bool | None = None,
                         step_deg: float = 15.0, max_step_cost: float = 16.0,
                         flip_cost: float = 1.0, skip_cost: float = 6.0, max_skip: int = 3,
                         half_width: int = 8, bandwidth: float = 6.0, outlier_deg: float = 10.0,
                         iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Filter one trajectory's poses (consecutive labels, oldest first).

    Args:
        t: ``(N, 3)`` translations (m).
        q: ``(N, 4)`` quaternions (x, y, z, w).
        confidence: ``(N,)`` in ``[0, 1]``; 0 marks a window without an estimate.
        symmetries: ``(S, 3, 3)`` body-frame near-symmetries, identity first
            (``BodyModel.symmetries``); None: the identity only.
        causal: Use only the current and earlier windows.
        track: Choose among the symmetric copies and leave wrong windows out (step 1).
        smooth: Fit (step 2); without it, windows left out or without an estimate take
            the nearest kept window's pose (causal: the latest earlier one). None: offline
            only (a fit over the past alone follows the wrong windows it cannot see past:
            on the demo's selection sets it raised the causal mean error).
        step_deg: Typical attitude change between windows; a step this size costs 1.
        max_step_cost: Cap of one step's cost, so one wrong window costs at most twice it.
        flip_cost: Cost of a symmetric copy instead of the window's own attitude.
        skip_cost: Cost of leaving a window out of the path.
        max_skip: Most consecutive windows one step of the path may leave out.
        half_width: Windows on each side of the local fit.
        bandwidth: Gaussian time weight of the fit, in windows.
        outlier_deg: Scale of the Cauchy reweighting of rotation residuals.
        iterations: Reweighting rounds.

    Returns:
        ``(N, 3)`` translations and ``(N, 4)`` unit quaternions with ``w >= 0``.
    """
    q = torch.nn.functional.normalize(torch.as_tensor(q, dtype=torch.float64), dim=-1)
    t = torch.as_tensor(t, dtype=torch.float64)
    confidence = torch.as_tensor(confidence, dtype=torch.float64).clamp(0, 1)
    if q.ndim != 2 or q.shape[1] != 4 or t.shape != (len(q), 3) or confidence.shape != (len(q),):
        raise ValueError(f'filter_pose_sequence: expected (N, 3) t, (N, 4) q and (N,) '
                         f'confidence, got {tuple(t.shape)}, {tuple(q.shape)}, '
                         f'{tuple(confidence.shape)}')
    symmetries = torch.tensor(np.eye(3)[None] if symmetries is None else np.array(symmetries),
                              dtype=torch.float64)
    smooth = not causal if smooth is None else smooth
    kept = confidence > 0
    if track:
        q, kept = choose_hypotheses(q, confidence, symmetries, causal, np.radians(step_deg),
                                    max_step_cost, flip_cost, skip_cost, max_skip)
    if not kept.any():
        return t.numpy(), canonical_quaternion(q).numpy()
    ref = _hold_nearest(q, t, kept, causal)
    if not smooth:
        return ref[1].numpy(), canonical_quaternion(ref[0]).numpy()
    weight = confidence * kept
    # Start from each window's prediction by its neighbours, so that an outlier does not
    # judge itself; then reweight by the residuals to the fit.
    ref = _refit(q, t, weight, ref, half_width, bandwidth, causal, exclude_self=True)
    for _ in range(iterations):
        residual = _angle(q, ref[0]) / np.radians(outlier_deg)
        ref = _refit(q, t, weight / (1 + residual ** 2), ref, half_width, bandwidth, causal)
    return ref[1].numpy(), canonical_quaternion(ref[0]).numpy()


def _refit(q: torch.Tensor, t: torch.Tensor, weight: torch.Tensor,
           ref: tuple[torch.Tensor, torch.Tensor], half_width: int, bandwidth: float,
           causal: bool, exclude_self: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Local fit twice, re-centring the tangent space on the first result; windows
    without support keep ``ref``."""
    ref_q, ref_t = ref
    for _ in range(2):
        fit_q, fit_t, support = local_fit(q, t, weight, ref_q, half_width, bandwidth,
                                          causal, exclude_self)
        ref_q = torch.where(support[:, None] > 0, fit_q, ref_q)
        ref_t = torch.where(support[:, None] > 0, fit_t, ref_t)
    return ref_q, ref_t


def _hold_nearest(q: torch.Tensor, t: torch.Tensor, valid: torch.Tensor, causal: bool
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Each window's starting estimate: its own pose if valid, else the nearest valid
    window's (the latest earlier one when causal; the window's own if there is none)."""
    index = torch.arange(len(q))
    valid_index = index[valid]
    distance = (index[:, None] - valid_index[None]).to(torch.float64)
    if causal:
        distance = torch.where(distance >= 0, distance, torch.inf)
    distance = distance.abs()
    nearest = valid_index[distance.argmin(1)]
    nearest = torch.where(torch.isfinite(distance.min(1).values), nearest, index)
    return q[nearest].clone(), t[nearest].clone()
