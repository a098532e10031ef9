"""Event voxel-grid kernels: a fused numba loop and the plain numpy reference it must match.

Both build the two-polarity voxel grid of ``EventsToVoxelGrid`` directly at the target
size (never a full-resolution grid followed by a resize):

* channels ``[0, num_bins)`` hold ON events (``p > 0``), ``[num_bins, 2·num_bins)`` OFF
  events;
* time is bilinear with the E2VID convention: ``τ = (t − t_start) / (t_end − t_start) ·
  (num_bins − 1)``; an event's unit weight is split as ``1 − (τ − ⌊τ⌋)`` into bin ``⌊τ⌋``
  and ``τ − ⌊τ⌋`` into bin ``⌊τ⌋ + 1`` (dropped when that bin does not exist, where its
  weight is 0 anyway);
* space is nearest-pixel after scaling the pixel centre: ``x_in = ⌊(x + 0.5)·W_in / W⌋``
  (same for ``y``), which is exact with the project's pixel convention
  (docs/conventions.md) and matches the intrinsics scaling ``diag(W_in/W, H_in/H, 1)·K``.

No normalisation: the grid's total weight equals the number of events. ``num_bins = 1``
gives plain per-polarity event counts (the event frame). The same grid on a torch device
(a batch at a time) is :func:`sparkpose.structures.window_events.voxel_grid_torch`.
"""
import numba
import numpy as np

# The float32 error bound shared with the device kernel (voxel_grid_torch).
from sparkpose.structures.window_events import FLOAT32_MAX_EVENTS_PER_CELL


@numba.njit(cache=True, nogil=True)
def _accumulate(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray, t_start: int,
                t_end: int, num_bins: int, sensor_w: int, sensor_h: int, out_w: int,
                out_h: int, grid: np.ndarray) -> int:
    """Add every event's two weights to ``grid`` ``(2·num_bins + 1, out_h, out_w)``.

    Per event: the coordinate map comes from two lookup tables (no division), the polarity
    offset is a conditional move (random polarities would mispredict a branch half the
    time), and the upper bin's weight is always written: it is exactly 0 when ``⌊τ⌋`` is
    the last bin, and the spare last plane takes the OFF case. Both weights are computed in
    float64 and rounded once to float32, then added to the grid in its own dtype (float32
    adds on a float32 grid, no conversions). Cell indices are unsigned, so numba emits no
    negative-index wraparound; events outside the sensor or the window are skipped and
    counted (numba does not check bounds). Nothing else is tracked per event: the caller
    bounds the float32 error from the finished grid.

    Returns:
        The number of skipped events.
    """
    plane = np.uint64(out_h * out_w)
    xlut = np.empty(sensor_w, np.uint64)
    for i in range(sensor_w):
        # floor((x + 0.5)·W_in/W) in integers: exact, no float rounding at cell borders.
        xlut[i] = (2 * i + 1) * out_w // (2 * sensor_w)
    ylut = np.empty(sensor_h, np.uint64)
    for i in range(sensor_h):
        ylut[i] = (2 * i + 1) * out_h // (2 * sensor_h) * out_w
    flat = grid.reshape(-1)
    span = t_end - t_start
    scale = (num_bins - 1) / span
    on_plane, off_plane = np.uint64(0), np.uint64(num_bins) * plane
    # One unsigned comparison per bound: negative values wrap to huge ones.
    width, height, last = np.uint64(sensor_w), np.uint64(sensor_h), np.uint64(span)
    skipped = 0
    for i in range(x.shape[0]):
        xs, ys = np.uint64(x[i]), np.uint64(y[i])
        dt = np.int64(t[i]) - t_start
        if xs >= width or ys >= height or np.uint64(dt - 1) >= last:
            skipped += 1
            continue
        tau = dt * scale
        b = np.int64(tau)  # tau >= 0, so truncation is floor
        frac = tau - b
        k = (np.uint64(b) * plane + ylut[ys] + xlut[xs]
             + (off_plane if p[i] <= 0 else on_plane))
        flat[k] += np.float32(1.0 - frac)
        flat[k + plane] += np.float32(frac)
    return skipped


def voxel_grid_fused(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray,
                     t_start: int, t_end: int, num_bins: int, sensor_w: int, sensor_h: int,
                     out_w: int, out_h: int) -> tuple[np.ndarray, int]:
    """Accumulate the voxel grid in one pass over the events (bin, weights and scatter fused).

    Accumulates in float32 (half the memory traffic of float64, no conversion pass) and
    redoes the grid in float64 when a cell may have gathered more than
    ``FLOAT32_MAX_EVENTS_PER_CELL`` events, so that it is always within 1e-5 (relative) of
    the float64 sum. The bound is taken from the finished float32 grid, after the loop (a
    vectorised max, ~0.07 ms for 256×256×10 cells; skipped outright when the window has no
    more events than the limit): a cell's events all lie in its pixel and polarity, whose
    ``num_bins`` cells hold one unit of weight per event, so a pixel-polarity with more than
    ``FLOAT32_MAX_EVENTS_PER_CELL`` (= 160) events has a cell of at least 161/``num_bins``
    after its first 161 events, up to a float32 error of (161 + 1)·2⁻²⁴ < 1e-5 (relative),
    i.e. ``max · num_bins`` > 160.99 > 160; later events never lower a float32 cell (adding a
    non-negative weight rounds to no less than the cell). The float64 redo adds the same
    float32-rounded weights, each within 2⁻²⁴ of the float64 weight.

    Args:
        x, y: ``(N,)`` integer pixel coordinates at sensor resolution.
        t: ``(N,)`` integer timestamps (µs).
        p: ``(N,)`` polarities, ON where ``p > 0``.
        t_start, t_end: The window ``(t_start, t_end]`` (µs), ``t_end > t_start``.
        num_bins: Temporal bins per polarity.
        sensor_w, sensor_h: Sensor resolution ``W, H`` (px).
        out_w, out_h: Target resolution ``W_in, H_in`` (px).

    Returns:
        ``(grid, skipped)``: the ``(2·num_bins, out_h, out_w)`` float32 grid and the number
        of events that fell outside the sensor or the window.
    """
    args = (x, y, t, p, int(t_start), int(t_end), int(num_bins), int(sensor_w),
            int(sensor_h), int(out_w), int(out_h))
    shape = (2 * num_bins + 1, out_h, out_w)
    grid = np.zeros(shape, np.float32)
    skipped = _accumulate(*args, grid)
    grid = grid[:2 * num_bins]
    # No cell can hold more events than the window has; beyond that, bound it from the grid.
    if (len(x) > FLOAT32_MAX_EVENTS_PER_CELL
            and float(grid.max()) * num_bins > FLOAT32_MAX_EVENTS_PER_CELL):
        grid64 = np.zeros(shape, np.float64)
        _accumulate(*args, grid64)
        grid = grid64[:2 * num_bins].astype(np.float32)
    return grid, skipped


def voxel_grid_reference(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray,
                         t_start: int, t_end: int, num_bins: int, sensor_w: int, sensor_h: int,
                         out_w: int, out_h: int, dtype: type = np.float64) -> np.ndarray:
    """The same grid with vectorised numpy and ``np.add.at`` (the reference for tests).

    Events must lie inside the sensor and the window (no checks here).

    Args:
        x, y, t, p, t_start, t_end, num_bins, sensor_w, sensor_h, out_w, out_h: As for
            :func:`voxel_grid_fused`.
        dtype: Accumulation and output dtype.

    Returns:
        ``(2·num_bins, out_h, out_w)`` grid of ``dtype``.
    """
    xi = np.floor((x + 0.5) * out_w / sensor_w).astype(np.int64)
    yi = np.floor((y + 0.5) * out_h / sensor_h).astype(np.int64)
    tau = (t - t_start) * ((num_bins - 1) / (t_end - t_start))
    b = np.floor(tau).astype(np.int64)
    frac = tau - b
    c = np.where(p > 0, 0, num_bins) + b
    grid = np.zeros((2 * num_bins, out_h, out_w), dtype=dtype)
    np.add.at(grid, (c, yi, xi), (1.0 - frac).astype(dtype))
    upper = b + 1 < num_bins
    np.add.at(grid, (c[upper] + 1, yi[upper], xi[upper]), frac[upper].astype(dtype))
    return grid
