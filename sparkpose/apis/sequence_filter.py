"""A trajectory's per-window poses filtered as one sequence: symmetric copies resolved and
wrong windows left out by Viterbi, gaps filled and the result smoothed on SO(3) × R³.

A window's pose estimate may come out turned by one of the body's near-symmetries, be plain
wrong, or be missing (no target, PnP failed); its neighbours 100 ms away differ by a few
degrees of true motion, so almost all of these stand out against them. For every observed
window the hypotheses are its rotation times each body symmetry ``R·S_k``; the path through
them that is smoothest under a constant-attitude motion model (squared geodesic step per
window, capped) and that pays ``flip_cost`` for every hypothesis other than the network's
own is chosen by Viterbi; the path may leave a window out at ``skip_cost`` (a wrong
estimate). Windows left out and missing ones are filled by interpolation on SO(3) (linear
in R³),
and every window is smoothed over ``smooth_window`` neighbours in the tangent space of its
own rotation (no averaging of quaternions).

``mode='offline'`` uses the whole trajectory (both directions, for submissions);
``mode='causal'`` decides window ``i`` from windows ``<= i`` only (on-board): the Viterbi
choice is the best path ending at ``i``, which is left out when a path skipping it is
cheaper, gaps are held at the last estimate, and there is no smoothing (a backward-looking mean
would lag a tumbling target by half its window).

Conventions: quaternions scalar-last ``(x, y, z, w)``; ``R`` maps body to camera, so a body
symmetry ``S`` turns an attitude into ``R·S``.
"""
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation, Slerp


@dataclass(frozen=True)
class SequenceFilterConfig:
    """Settings of :func:`filter_sequence` (angles in degrees).

    Args:
        mode: ``'offline'`` or ``'causal'``.
        step_deg: Typical attitude change between windows; a step of this size costs 1.
        max_step_cost: Cap of one step's cost, so a wrong window costs at most this twice.
        flip_cost: Cost of choosing a symmetric copy over the network's own attitude.
        skip_cost: Cost of leaving a window out of the path (a wrong estimate).
        max_skip: Most consecutive windows one step of the path may leave out.
        smooth_window: Windows averaged per output (odd; 1: no smoothing).
    """

    mode: str = 'offline'
    step_deg: float = 15.0
    max_step_cost: float = 16.0
    flip_cost: float = 2.0
    skip_cost: float = 6.0
    max_skip: int = 3
    smooth_window: int = 3

    def __post_init__(self) -> None:
        if self.mode not in ('offline', 'causal'):
            raise ValueError(f"SequenceFilterConfig: mode={self.mode!r}, expected 'offline' "
                             f"or 'causal'")
        if self.smooth_window < 1 or self.smooth_window % 2 == 0:
            raise ValueError(f'SequenceFilterConfig: smooth_window must be a positive odd '
                             f'integer, got {self.smooth_window!r}')


def filter_sequence(t: np.ndarray, q: np.ndarray, observed: np.ndarray,
                    symmetries: np.ndarray, config: SequenceFilterConfig = SequenceFilterConfig()
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Filter one trajectory's window poses (consecutive labels, oldest first).

    Args:
        t: ``(N, 3)`` translations (m).
        q: ``(N, 4)`` quaternions (scalar-last).
        observed: ``(N,)`` whether a window has an estimate worth keeping (False: missing,
            e.g. a fallback pose).
        symmetries: ``(K, 3, 3)`` body symmetries, identity first.
        config: The filter's settings.

    Returns:
        ``t`` ``(N, 3)``, ``q`` ``(N, 4)`` (``w >= 0``) and ``kept`` ``(N,)``: the windows
        whose own (possibly symmetry-turned) estimate survived; the others are filled. A
        trajectory without any observed window is returned as given.
    """
    t, q = np.asarray(t, np.float64), np.asarray(q, np.float64)
    observed = np.asarray(observed, bool) & np.isfinite(t).all(1) & np.isfinite(q).all(1)
    if not observed.any():
        return t.copy(), _canonical(q), observed
    causal = config.mode == 'causal'
    index = np.flatnonzero(observed)
    hypotheses = _hypotheses(q[index], symmetries)  # (M, K, 3, 3)
    chosen, on_path = _viterbi(hypotheses, index, config, causal)
    rotations = np.empty((len(t), 3, 3))
    rotations[index] = hypotheses[np.arange(len(index)), chosen]
    kept = np.zeros(len(t), bool)
    kept[index[on_path]] = True
    rotations, t = _fill(rotations, t, kept, causal)
    if not causal:
        rotations, t = _smooth(rotations, t, config.smooth_window)
    return t, _canonical(Rotation.from_matrix(rotations).as_quat()), kept


def _canonical(q: np.ndarray) -> np.ndarray:
    return np.where(q[..., 3:] < 0, -q, q)


def _hypotheses(q: np.ndarray, symmetries: np.ndarray) -> np.ndarray:
    """``R_i · S_k`` for every observed window ``i`` and symmetry ``k``: ``(M, K, 3, 3)``."""
    return Rotation.from_quat(q).as_matrix()[:, None] @ np.asarray(symmetries, np.float64)[None]


def _angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Geodesic angles (deg) between rotation matrices, broadcast over leading dims."""
    trace = np.einsum('...ij,...ij->...', a, b)
    return np.degrees(np.arccos(np.clip((trace - 1) / 2, -1.0, 1.0)))


def _viterbi(hypotheses: np.ndarray, index: np.ndarray, config: SequenceFilterConfig,
             causal: bool) -> tuple[np.ndarray, np.ndarray]:
    """The chosen hypothesis of every observed window and whether it is kept: ``(M,)``.

    A step of the path goes from window ``j`` to ``m > j`` and leaves out the windows
    between at ``skip_cost`` each (at most ``max_skip``), so a wrong window is passed over
    instead of breaking the chain; the path may also start after and end before skipped
    windows.
    """
    num, count = hypotheses.shape[:2]
    emission = np.full(count, config.flip_cost)
    emission[0] = 0.0
    cost = np.empty((num, count))
    back = np.full((num, count, 2), -1)
    for m in range(num):
        cost[m] = emission + config.skip_cost * m  # the path starts here
        for j in range(max(0, m - config.max_skip - 1), m):
            step = _angles(hypotheses[j][:, None], hypotheses[m][None]) / (
                config.step_deg * (index[m] - index[j]))
            total = cost[j][:, None] + np.minimum(step ** 2, config.max_step_cost) \
                + config.skip_cost * (m - j - 1) + emission
            better = total.min(0) < cost[m]
            cost[m] = np.where(better, total.min(0), cost[m])
            back[m][better] = np.stack([np.full(better.sum(), j), total.argmin(0)[better]], 1)
    chosen, kept = np.zeros(num, int), np.zeros(num, bool)
    if causal:  # window m is kept when a path ending there beats leaving it out
        for m in range(num):
            left_out = min((cost[j].min() + config.skip_cost * (m - j)
                            for j in range(max(0, m - config.max_skip), m)), default=np.inf)
            chosen[m], kept[m] = cost[m].argmin(), cost[m].min() <= left_out
        return chosen, kept
    ends = cost.min(1) + config.skip_cost * (num - 1 - np.arange(num))
    m = int(ends[max(0, num - 1 - config.max_skip):].argmin()) + max(0, num - 1 - config.max_skip)
    k = int(cost[m].argmin())
    while m >= 0:
        chosen[m], kept[m] = k, True
        m, k = back[m, k]
    return chosen, kept


def _fill(rotations: np.ndarray, t: np.ndarray, kept: np.ndarray,
          causal: bool) -> tuple[np.ndarray, np.ndarray]:
    """Windows not kept: SLERP and linear interpolation between kept neighbours (offline,
    nearest beyond the ends) or the last kept estimate (causal; the first kept before it)."""
    rotations, t = rotations.copy(), t.copy()
    known = np.flatnonzero(kept)
    missing = np.flatnonzero(~kept)
    if not len(missing):
        return rotations, t
    if causal or len(known) == 1:
        source = known[np.maximum(np.searchsorted(known, missing, side='right') - 1, 0)]
        if not causal:
            source = np.full_like(missing, known[0])
        rotations[missing], t[missing] = rotations[source], t[source]
        return rotations, t
    times = np.clip(missing, known[0], known[-1])
    rotations[missing] = Slerp(known, Rotation.from_matrix(rotations[known]))(times).as_matrix()
    for axis in range(3):
        t[missing, axis] = np.interp(missing, known, t[known, axis])
    return rotations, t


def _smooth(rotations: np.ndarray, t: np.ndarray, window: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Centred mean over ``window`` windows (fewer at the ends) in each rotation's own
    tangent space, unbiased for a constant tumble; translations averaged."""
    if window == 1:
        return rotations, t
    num, half = len(rotations), window // 2
    out_r, out_t = np.empty_like(rotations), np.empty_like(t)
    for i in range(num):
        reach = min(half, i, num - 1 - i)  # stays centred at the ends: no bias there
        lo, hi = i - reach, i + reach + 1
        centre = Rotation.from_matrix(rotations[i])
        offsets = (centre.inv() * Rotation.from_matrix(rotations[lo:hi])).as_rotvec()
        out_r[i] = (centre * Rotation.from_rotvec(offsets.mean(0))).as_matrix()
        out_t[i] = t[lo:hi].mean(0)
    return out_r, out_t
