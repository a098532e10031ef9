"""Event voxel-grid kernels: fused numba loops and the plain numpy reference they must match.

All build the two-polarity voxel grid of ``EventsToVoxelGrid`` directly at the target
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
gives plain per-polarity event counts (the event frame). :func:`voxel_grid_fused` returns
the dense grid, :class:`SparseVoxelizer` its non-zero cells (what DataLoader workers hand
over). The same grid on a torch device (a batch at a time) is
:func:`sparkpose.structures.window_events.voxel_grid_torch`.
"""
import functools

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from sparkpose.structures.sparse_inputs import offset_dtype
from sparkpose.structures.window_events import needs_float64

# The coordinate tables cover every 16-bit value and send those outside the sensor here,
# so one comparison of a cell index with the plane size rejects both x and y (two of these
# still add up without wrapping).
OUTSIDE = 1 << 40
# Cells of a plane per block of SparseVoxelizer's touched map (a 64-byte line of float32).
BLOCK = 16
# The kernel prefetches timestamps (8 of an event's 13 bytes) this many events ahead, one
# cache line of them in every TIMESTAMPS_PER_LINE events: faster when the events are not
# in the caches yet (docs/performance.md).
PREFETCH_AHEAD = 128
TIMESTAMPS_PER_LINE = 8  # a power of two
# Coordinate dtypes the tables are indexed with as they are; others are converted.
TABLE_COORD_DTYPES = (np.uint8, np.int8, np.uint16, np.int16)


@functools.lru_cache(maxsize=32)
def _cell_tables(sensor_w: int, sensor_h: int, out_w: int, out_h: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Read-only uint64 lookup tables of the kernel, built once per geometry.

    ``xcell[x] = ⌊(x + 0.5)·W_in / W⌋`` and ``ycell[y] = ⌊(y + 0.5)·H_in / H⌋ · W_in``
    (integer arithmetic: exact at cell borders) for every 16-bit ``x``, ``y``, ``OUTSIDE``
    beyond the sensor.
    """
    if max(sensor_w, sensor_h) > 1 << 16:
        raise ValueError(f'voxel kernel: sensor {sensor_w}x{sensor_h} exceeds 65536 px')
    xcell = np.full(1 << 16, OUTSIDE, np.uint64)
    xcell[:sensor_w] = (2 * np.arange(sensor_w) + 1) * out_w // (2 * sensor_w)
    ycell = np.full(1 << 16, OUTSIDE, np.uint64)
    ycell[:sensor_h] = (2 * np.arange(sensor_h) + 1) * out_h // (2 * sensor_h) * out_w
    for table in (xcell, ycell):
        table.setflags(write=False)
    return xcell, ycell


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to start loading ``array[index]`` into its caches (``llvm.prefetch``
    for a read, into all levels). A hint only: it never faults, whatever the address, and
    changes no result; its plain reference is doing nothing (the kernel that calls it
    equals :func:`voxel_grid_reference`, tested at lengths around ``PREFETCH_AHEAD``)."""
    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = builder.module.declare_intrinsic(
            'llvm.prefetch', fnty=ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]))
        address = builder.bitcast(builder.gep(data, [args[1]]), byte_ptr)
        # read (0), keep in every cache level (3), data not instructions (1)
        builder.call(fn, [address, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(array, index), codegen


def _kernel_args(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray, t_start: int,
                 t_end: int, num_bins: int, sensor_w: int, sensor_h: int, out_w: int,
                 out_h: int) -> tuple:
    """The arguments of :func:`_accumulate` before the grid: coordinates as 8/16-bit
    integers (wider ones clipped to ``[-1, 65535]``, out of range either way), polarities
    as bytes, and the geometry's tables."""
    x, y, t, p = (np.asarray(a) for a in (x, y, t, p))
    x, y = (a if a.dtype in TABLE_COORD_DTYPES else np.clip(a, -1, 65535).astype(np.uint16)
            for a in (x, y))
    if p.dtype not in (np.uint8, np.int8):
        p = (p > 0).view(np.uint8)
    tables = _cell_tables(int(sensor_w), int(sensor_h), int(out_w), int(out_h))
    return (x, y, t, p, int(t_start), int(t_end), int(num_bins), *tables)


@numba.njit(cache=True, nogil=True)
def _accumulate(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray, t_start: int,
                t_end: int, num_bins: int, xcell: np.ndarray, ycell: np.ndarray,
                grid: np.ndarray, touched: np.ndarray | None) -> int:
    """Add every event's two weights to ``grid`` ``(2·num_bins + 1, out_h, out_w)``.

    Per event: the cell comes from two lookup tables (:func:`_cell_tables`: no division,
    one bound check for x and y), the polarity's channels without a branch (OFF where
    ``p <= 0``, for the int8 or uint8 that :func:`_kernel_args` passes), and the upper
    bin's weight is always written: it is exactly 0 when ``⌊τ⌋`` is the last bin, and the
    spare last plane takes the OFF case. Both weights are computed in float64 and rounded
    once to float32, then added to the grid in its own dtype. Cell indices are unsigned, so
    numba emits no negative-index wraparound; events outside the sensor or the window are
    skipped and counted (numba does not check bounds). Timestamps are prefetched
    ``PREFETCH_AHEAD`` events ahead. ``touched`` (uint8 flags, one per ``BLOCK``
    cells of a plane) marks where events landed; with ``None`` numba compiles the loop
    without it. Nothing else is tracked per event: the caller bounds the float32 error
    from the finished grid.

    Returns:
        The number of skipped events.
    """
    plane = np.uint64(grid.shape[1] * grid.shape[2])
    off_channels = np.uint64(num_bins) * plane
    flat = grid.reshape(-1)
    span = t_end - t_start
    scale = (num_bins - 1) / span
    while span * scale > num_bins - 1:  # rounded up (e.g. 8 bins over 100 µs): τ(span) must
        scale = np.nextafter(scale, 0.0)  # stay in the last bin, not leak ~1e-16 beyond it
    last = np.uint64(span)  # one unsigned comparison per bound: negatives wrap to huge
    skipped = 0
    for i in range(x.shape[0]):
        if i & (TIMESTAMPS_PER_LINE - 1) == 0 and i + PREFETCH_AHEAD < x.shape[0]:
            _prefetch(t, i + PREFETCH_AHEAD)
        cell = ycell[np.uint16(y[i])] + xcell[np.uint16(x[i])]
        dt = np.int64(t[i]) - t_start
        if cell >= plane or np.uint64(dt - 1) >= last:
            skipped += 1
            continue
        if touched is not None:
            touched[cell // BLOCK] = 1
        tau = dt * scale
        b = np.int64(tau)  # tau >= 0, so truncation is floor
        frac = tau - b
        k = np.uint64(b) * plane + cell + np.uint64(p[i] <= 0) * off_channels
        flat[k] += np.float32(1.0 - frac)
        flat[k + plane] += np.float32(frac)
    return skipped


def voxel_grid_fused(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray,
                     t_start: int, t_end: int, num_bins: int, sensor_w: int, sensor_h: int,
                     out_w: int, out_h: int) -> tuple[np.ndarray, int]:
    """Accumulate the voxel grid in one pass over the events (bin, weights and scatter fused).

    Accumulates in float32 (half the memory traffic of float64, no conversion pass) and
    redoes the grid in float64 when a cell may have gathered more than
    ``FLOAT32_MAX_EVENTS_PER_CELL`` events
    (:func:`~sparkpose.structures.window_events.needs_float64`, decided from the
    finished grid: one vectorised max, not a per-event check), so that it is always
    within 1e-5 (relative) of the float64 sum. The float64 redo adds the same
    float32-rounded weights, each within 2⁻²⁴ of the float64 weight.

    Args:
        x, y: ``(N,)`` integer pixel coordinates at sensor resolution.
        t: ``(N,)`` integer timestamps (µs).
        p: ``(N,)`` polarities, ON where ``p > 0``.
        t_start, t_end: The window ``(t_start, t_end]`` (µs), ``t_end > t_start``.
        num_bins: Temporal bins per polarity.
        sensor_w, sensor_h: Sensor resolution ``W, H`` (px), at most 65536.
        out_w, out_h: Target resolution ``W_in, H_in`` (px).

    Returns:
        ``(grid, skipped)``: the ``(2·num_bins, out_h, out_w)`` float32 grid and the number
        of events that fell outside the sensor or the window.
    """
    args = _kernel_args(x, y, t, p, t_start, t_end, num_bins, sensor_w, sensor_h, out_w,
                        out_h)
    shape = (2 * num_bins + 1, out_h, out_w)
    grid = np.zeros(shape, np.float32)
    skipped = _accumulate(*args, grid, None)
    grid = grid[:2 * num_bins]
    if needs_float64(len(args[0]), float(grid.max(initial=0.0)), num_bins):
        grid64 = np.zeros(shape, np.float64)
        _accumulate(*args, grid64, None)
        grid = grid64[:2 * num_bins].astype(np.float32)
    return grid, skipped


@numba.njit(cache=True, nogil=True)
def _take_touched(touched: np.ndarray) -> np.ndarray:
    """The indices of the set flags of ``touched``, in order; clears them."""
    blocks = np.empty(touched.shape[0], np.int64)
    count = 0
    for j in range(touched.shape[0]):
        blocks[count] = j
        count += touched[j]
        touched[j] = 0
    return blocks[:count]


@numba.njit(cache=True, nogil=True)
def _gather_and_clear(grid: np.ndarray, blocks: np.ndarray, channels: int,
                      offsets: np.ndarray, values: np.ndarray, counts: np.ndarray) -> float:
    """Write the non-zero cells of ``blocks`` in the first ``channels`` planes of ``grid``
    (in-plane offset, float32 value; increasing) with their number per plane, and zero
    them (the spare plane beyond only ever receives +0.0). The writes are branch-free, so
    ``offsets`` and ``values`` need one slot of slack.

    Returns:
        The largest value.
    """
    plane = grid.shape[1] * grid.shape[2]
    flat = grid.reshape(-1)
    count, largest = 0, np.float32(0)
    for c in range(channels):
        first = count
        for block in blocks:
            start = c * plane + block * BLOCK
            for i in range(start, min(start + BLOCK, (c + 1) * plane)):
                value = np.float32(flat[i])
                flat[i] = 0
                offsets[count] = i - c * plane
                values[count] = value
                count += value != 0  # weights are >= 0: no -0.0 to keep
                largest = max(largest, value)
        counts[c] = count - first
    return largest


class SparseVoxelizer:
    """The grid of :func:`voxel_grid_fused` as its non-zero cells, at a cost that follows
    the events rather than the grid.

    It accumulates into a grid kept all-zero between calls, with a map of the blocks of
    ``BLOCK`` cells the events land in, and reads back and re-zeroes only those blocks: no
    allocation, zeroing or full scan of the grid per window (DataLoader workers hand the
    cells over; see :class:`~sparkpose.structures.SparseInputs`). The float32 accumulation
    and the float64 redo are those of :func:`voxel_grid_fused`, so the cells are its
    non-zero cells bit for bit.

    It keeps one grid per shape (2.9 MB for 10×256×256 float32), so it is not for
    concurrent use from several threads; a DataLoader worker has its own copy, and a copy
    or an unpickled one starts without grids.
    """

    def __init__(self) -> None:
        self._grids = {}

    def __getstate__(self) -> dict:
        return {'_grids': {}}

    def __call__(self, x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray,
                 t_start: int, t_end: int, num_bins: int, sensor_w: int, sensor_h: int,
                 out_w: int, out_h: int) -> tuple[np.ndarray, np.ndarray, int]:
        """The non-zero cells of the ``(2·num_bins, out_h, out_w)`` grid.

        Args:
            x, y, t, p, t_start, t_end, num_bins, sensor_w, sensor_h, out_w, out_h: As for
                :func:`voxel_grid_fused`.

        Returns:
            ``(offsets, values, counts, skipped)``: the non-zero cells' in-plane offsets
            ``y·W_in + x`` (increasing per plane; dtype
            :func:`~sparkpose.structures.sparse_inputs.offset_dtype`), float32 values,
            int64 cells per channel (what :class:`~sparkpose.structures.SparseInputs`
            takes), and the number of events that fell outside the sensor or the window.
        """
        args = _kernel_args(x, y, t, p, t_start, t_end, num_bins, sensor_w, sensor_h,
                            out_w, out_h)
        channels, plane, num_events = 2 * num_bins, out_h * out_w, len(args[0])
        shape = (channels + 1, out_h, out_w)
        counts = np.empty(channels, np.int64)
        try:
            touched = self._zeros((plane // BLOCK + 1,), np.uint8)
            skipped = _accumulate(*args, self._zeros(shape, np.float32), touched)
            blocks = _take_touched(touched)
            # Two cells per event at most, one slot of slack; pages never written cost
            # nothing, so the bound is cheaper than gathering into a buffer and copying.
            bound = min(2 * num_events, len(blocks) * BLOCK * channels) + 1
            offsets = np.empty(bound, offset_dtype(plane))
            values = np.empty(bound, np.float32)
            largest = _gather_and_clear(self._zeros(shape, np.float32), blocks, channels,
                                        offsets, values, counts)
            if needs_float64(num_events, float(largest), num_bins):
                grid64 = self._zeros(shape, np.float64)
                _accumulate(*args, grid64, None)
                _gather_and_clear(grid64, blocks, channels, offsets, values, counts)
        except BaseException:
            self._grids.clear()  # an interrupted call may leave a grid non-zero
            raise
        stored = int(counts.sum())
        return offsets[:stored], values[:stored], counts, skipped

    def _zeros(self, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        """The all-zero array of ``shape`` and ``dtype`` kept for reuse."""
        key = (shape, np.dtype(dtype))
        if key not in self._grids:
            self._grids[key] = np.zeros(shape, dtype)
        return self._grids[key]


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
