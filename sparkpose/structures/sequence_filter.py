"""Sequence filter: one trajectory's per-window poses made consistent in time.

Every window is estimated alone, and its errors are mostly of two kinds that its
neighbours (100 ms apart, a few degrees of true motion) expose: a near-symmetric copy of
the true attitude, and an outlier or a window without an estimate. The filter

1. keeps each window's pose and its near-symmetric copies ``R · S_k`` (the body model's
   symmetries) as hypotheses and chooses, by Viterbi, the path through time that is best
   supported by the windows and smoothest under a random-walk motion model of the
   rotation (a copy costs ``symmetry_cost`` times the window's confidence; a step costs
   its squared angle over ``motion_sigma_deg``², capped so one bad window cannot bend
   the path);
2. smooths the chosen poses by a robust, confidence-weighted local-linear fit in time, on
   SO(3) in the tangent space of the current estimate (no averaging of quaternions) and
   on R³ for the translation; reweighting (Cauchy, ``outlier_deg``) drops outliers, and a
   window with confidence 0 gets the fit of its neighbours (filled).

``causal=True`` uses only windows up to the current one (on board): Viterbi decides at
each step from the forward costs, and the local fit extrapolates from the past.
Arithmetic in float64 torch; inputs and outputs numpy.
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
                      causal: bool, motion_sigma: float, symmetry_cost: float,
                      step_cap: float) -> torch.Tensor:
    """Viterbi over each window's symmetric copies; returns the chosen ``(N, 4)``.

    Windows with confidence 0 take no part (their neighbours are linked across the gap,
    whose step may be proportionally larger).
    """
    sym_q = matrix_to_quaternion(symmetries)
    hyps = quaternion_multiply(q[:, None], sym_q[None])          # (N, S, 4)
    chosen = q.clone()
    used = torch.nonzero(confidence > 0).flatten()
    if len(used) == 0:
        return chosen
    unary = symmetry_cost * confidence[used, None] * (torch.arange(len(sym_q)) > 0)
    cost = unary[0].clone()
    back, decided = [], [int(cost.argmin())]
    for step in range(1, len(used)):
        i, j = int(used[step - 1]), int(used[step])
        angle = _angle(hyps[i][:, None], hyps[j][None])         # (S_prev, S_next)
        trans = (angle ** 2 / (motion_sigma ** 2 * (j - i))).clamp(max=step_cap)
        total = cost[:, None] + trans
        back.append(total.argmin(0))
        cost = total.min(0).values + unary[step]
        decided.append(int(cost.argmin()))
    if not causal:
        path = [int(cost.argmin())]
        for pointer in reversed(back):
            path.append(int(pointer[path[-1]]))
        decided = path[::-1]
    chosen[used] = hyps[used, torch.as_tensor(decided)]
    return chosen


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
                         track: bool = True, smooth: bool = True,
                         motion_sigma_deg: float = 15.0, symmetry_cost: float = 4.0,
                         step_cap: float = 9.0, half_width: int = 3, bandwidth: float = 2.0,
                         outlier_deg: float = 20.0, iterations: int = 3
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Filter one trajectory's poses (consecutive labels, oldest first).

    Args:
        t: ``(N, 3)`` translations (m).
        q: ``(N, 4)`` quaternions (x, y, z, w).
        confidence: ``(N,)`` in ``[0, 1]``; 0 marks a window without an estimate.
        symmetries: ``(S, 3, 3)`` body-frame near-symmetries, identity first
            (``BodyModel.symmetries``); None: the identity only.
        causal: Use only the current and earlier windows.
        track: Choose among the symmetric copies (step 1).
        smooth: Fit and fill (step 2); without it windows of confidence 0 keep their pose.
        motion_sigma_deg: Typical rotation between consecutive windows.
        symmetry_cost: Cost of a copy at confidence 1, in squared ``motion_sigma`` units.
        step_cap: Largest cost of one step (robustness to a single bad window).
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
    if track:
        q = choose_hypotheses(q, confidence, symmetries, causal,
                              np.radians(motion_sigma_deg), symmetry_cost, step_cap)
    if not smooth or not (confidence > 0).any():
        return t.numpy(), canonical_quaternion(q).numpy()
    ref = _hold_nearest(q, t, confidence > 0, causal)
    # Start from each window's prediction by its neighbours, so that an outlier does not
    # judge itself; then reweight by the residuals to the fit.
    ref = _refit(q, t, confidence, ref, half_width, bandwidth, causal, exclude_self=True)
    for _ in range(iterations):
        residual = _angle(q, ref[0]) / np.radians(outlier_deg)
        ref = _refit(q, t, confidence / (1 + residual ** 2), ref, half_width, bandwidth,
                     causal)
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
