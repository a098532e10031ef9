"""A window's raw events and the voxel grid they make, built on any torch device.

Full-resolution grids are large (a 10×720×1280 float32 grid is 36.9 MB) and a DataLoader
worker pays for every byte it hands to the main process, while the events of a 100 ms
window are a few MB at most. :class:`WindowEvents` carries the events instead (9 bytes
per event) together with what defines the grid, and
:class:`~sparkpose.models.data_preprocessors.PoseDataPreprocessor` builds the grid on the
model's device with :func:`voxel_grid_torch`, which computes the grid of
:func:`~sparkpose.datasets.transforms.voxel_kernels.voxel_grid_fused` (see
docs/conventions.md) with the same float64 time weights.
"""
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba
import numpy as np
import torch

from .grid_normalization import grid_scale

# Accumulating n non-negative float32 weights (each rounded once from float64) stays
# within (n + 1)·2⁻²⁴ of the exact sum, relative; n <= 160 keeps that under 1e-5.
FLOAT32_MAX_EVENTS_PER_CELL = 160
# The tensors of a WindowEvents: per event (x, y int16, dt int32, p bool: 9 bytes), then
# per window (counts, spans int64).
FIELDS = ('x', 'y', 'dt', 'p', 'counts', 'spans')


@dataclass(frozen=True)
class GridSpec:
    """What defines the grid besides the events (one value for a whole batch).

    Args:
        num_bins: Temporal bins per polarity.
        sensor_size: Sensor ``(W, H)`` (px).
        out_size: Grid ``(W_in, H_in)`` (px).
        log1p: The grid holds ``log(1 + weight)``.
        normalize: Per-window scale divided out before ``log1p``
            (:mod:`~sparkpose.structures.grid_normalization`); None: none.
    """

    num_bins: int
    sensor_size: tuple[int, int]
    out_size: tuple[int, int]
    log1p: bool = False
    normalize: str | None = None


@numba.njit(cache=True, nogil=True)
def _window_offsets(x: np.ndarray, y: np.ndarray, t: np.ndarray, t_start: int,
                    t_end: int, sensor_w: int, sensor_h: int,
                    dt: np.ndarray) -> int:
    """Write ``t − t_start`` into ``dt``; return how many events lie outside sensor or window."""
    bad = 0
    for i in range(x.shape[0]):
        offset = np.int64(t[i]) - t_start
        dt[i] = offset
        bad += (x[i] < 0) | (x[i] >= sensor_w) | (y[i] < 0) | (y[i] >= sensor_h) \
            | (offset <= 0) | (offset > t_end - t_start)
    return bad


def window_offsets_reference(x: np.ndarray, y: np.ndarray, t: np.ndarray, t_start: int,
                             t_end: int, sensor_w: int, sensor_h: int) -> tuple[np.ndarray, int]:
    """What ``_window_offsets`` computes, with plain numpy (the reference it is tested
    against).

    Returns:
        ``(dt, outside)``: ``t − t_start`` (int64) and the number of events outside the
        sensor ``[0, W) × [0, H)`` or the window ``(t_start, t_end]``.
    """
    x, y = (np.asarray(a, np.int64) for a in (x, y))
    dt = np.asarray(t, np.int64) - t_start
    inside = (x >= 0) & (x < sensor_w) & (y >= 0) & (y < sensor_h) & (dt > 0) & (
        dt <= t_end - t_start)
    return dt, int(np.count_nonzero(~inside))


def needs_float64(num_events: int, largest: float, num_bins: int) -> bool:
    """Whether a float32 grid whose largest cell is ``largest`` may be off by more than 1e-5.

    A cell's events all lie in its pixel and polarity, whose ``num_bins`` cells hold one
    unit of weight per event, so a pixel-polarity with more than
    ``FLOAT32_MAX_EVENTS_PER_CELL`` (= 160) events has a cell of at least 161/``num_bins``
    after its first 161 events, up to a float32 error of (161 + 1)·2⁻²⁴ < 1e-5 (relative),
    i.e. ``largest · num_bins`` > 160.99 > 160; later events never lower a float32 cell
    (adding a non-negative weight rounds to no less than the cell). No cell can hold more
    events than the window (or batch) has. Both voxel kernels decide with it.
    """
    return (num_events > FLOAT32_MAX_EVENTS_PER_CELL
            and largest * num_bins > FLOAT32_MAX_EVENTS_PER_CELL)


class WindowEvents:
    """Events of one window (or of a batch of windows) and the spec of their voxel grid.

    Args:
        x, y: ``(N,)`` int16 pixel coordinates at sensor resolution.
        dt: ``(N,)`` int32 time since the window start, in ``(0, span]`` (µs).
        p: ``(N,)`` bool, ON events True.
        counts: ``(B,)`` int64 events per window (in order).
        spans: ``(B,)`` int64 window lengths ``t_end − t_start`` (µs).
        spec: The grid's :class:`GridSpec`.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, dt: torch.Tensor, p: torch.Tensor,
                 counts: torch.Tensor, spans: torch.Tensor, spec: GridSpec) -> None:
        self.x, self.y, self.dt, self.p = x, y, dt, p
        self.counts, self.spans, self.spec = counts, spans, spec

    @classmethod
    def from_window(cls, events: dict, window_us: Sequence[int],
                    spec: GridSpec) -> 'WindowEvents':
        """One window's events ``events['x'|'y'|'t'|'p']`` (numpy) in compact form.

        Raises:
            ValueError: The arrays differ in length, an event lies outside the sensor or
                ``(t_start, t_end]``, or the sensor or the window does not fit the compact
                dtypes.
        """
        x, y, t, p = (np.asarray(events[k]) for k in 'xytp')
        if not len(x) == len(y) == len(t) == len(p):  # the numba pass indexes all with x's
            raise ValueError(f'WindowEvents: events x, y, t, p differ in length: {len(x)}, '
                             f'{len(y)}, {len(t)}, {len(p)}')
        t_start, t_end = (int(v) for v in window_us)
        sensor_w, sensor_h = spec.sensor_size
        if max(sensor_w, sensor_h) > np.iinfo(np.int16).max + 1 \
                or t_end - t_start > np.iinfo(np.int32).max:
            raise ValueError(f'WindowEvents: sensor {spec.sensor_size} or window length '
                             f'{t_end - t_start} µs does not fit int16 pixels / int32 µs')
        dt = np.empty(len(t), np.int32)
        bad = _window_offsets(x, y, t, t_start, t_end, sensor_w, sensor_h, dt)
        if bad:
            raise ValueError(f'WindowEvents: {bad} events outside the sensor {spec.sensor_size} '
                             f'or the window ({t_start}, {t_end}] µs')
        return cls(torch.from_numpy(x.astype(np.int16)), torch.from_numpy(y.astype(np.int16)),
                   torch.from_numpy(dt), torch.from_numpy(p > 0), torch.tensor([len(x)]),
                   torch.tensor([t_end - t_start]), spec)

    @classmethod
    def stack(cls, items: Sequence['WindowEvents'],
              empty: Callable[..., torch.Tensor] = torch.empty) -> 'WindowEvents':
        """Concatenate windows (CPU tensors) of one :class:`GridSpec` into a batch.

        Args:
            items: The windows (or batches).
            empty: Allocates the batch's tensors, ``empty(size, dtype=...)``; a DataLoader
                collate passes one that allocates in shared memory.
        """
        specs = {item.spec for item in items}
        if len(specs) != 1:
            raise ValueError(f'WindowEvents.stack: windows of one batch have different grid '
                             f'specs {sorted(map(repr, specs))}; use one representation')
        fields = {}
        for name in FIELDS:
            parts = [getattr(item, name).numpy() for item in items]
            out = empty((sum(len(part) for part in parts),), dtype=getattr(items[0], name).dtype)
            # numpy copies in one thread; see SparseInputs.stack for why not torch's.
            np.concatenate(parts, out=out.numpy())
            fields[name] = out
        return cls(**fields, spec=items[0].spec)

    def to_dense(self, device: torch.device | str | None = None,
                 non_blocking: bool = False) -> torch.Tensor:
        """The float32 grid ``(B, 2·num_bins, H_in, W_in)`` built on ``device``."""
        moved = {name: getattr(self, name).to(device, non_blocking=non_blocking)
                 for name in FIELDS}
        grid = voxel_grid_torch(**moved, num_events=self.num_events, spec=self.spec)
        if self.spec.normalize:
            scale = grid_scale(self.spec.normalize, grid.sum((1, 2, 3), dtype=torch.float64),
                               (grid != 0).sum((1, 2, 3)), self.spec.sensor_size[0],
                               self.spec.out_size[0])
            grid /= torch.as_tensor(scale, device=grid.device).float().view(-1, 1, 1, 1)
        return grid.log1p() if self.spec.log1p else grid

    def pin_memory(self) -> 'WindowEvents':
        """A copy in page-locked memory (what ``DataLoader(pin_memory=True)`` calls), so
        that ``to_dense(..., non_blocking=True)`` copies asynchronously."""
        return WindowEvents(*(getattr(self, name).pin_memory()
                              for name in FIELDS), spec=self.spec)

    @property
    def num_events(self) -> int:
        """Events of all windows together."""
        return len(self.x)

    @property
    def nbytes(self) -> int:
        """Bytes of the stored form."""
        return sum(getattr(self, name).element_size() * getattr(self, name).numel()
                   for name in FIELDS)

    def __len__(self) -> int:
        """Number of windows (the batch size of a batch)."""
        return len(self.counts)

    def __repr__(self) -> str:
        return f'WindowEvents(windows={len(self)}, events={self.num_events}, {self.spec})'


def voxel_grid_torch(x: torch.Tensor, y: torch.Tensor, dt: torch.Tensor, p: torch.Tensor,
                     counts: torch.Tensor, spans: torch.Tensor, num_events: int,
                     spec: GridSpec) -> torch.Tensor:
    """The voxel grids of a batch of windows, vectorised on the tensors' device.

    Same grid as the numba kernel: time weights in float64 from ``τ = dt / span ·
    (num_bins − 1)``, the integer coordinate map, float32 accumulation redone in float64
    when a cell may have gathered more than ``FLOAT32_MAX_EVENTS_PER_CELL`` events (one
    host sync per batch, for that decision). Inputs must be valid (see
    :meth:`WindowEvents.from_window`).

    Args:
        x, y, dt, p, counts, spans: As in :class:`WindowEvents`, on one device.
        num_events: ``len(x)`` (known on the host: no sync to size the sample index).
        spec: The grid's :class:`GridSpec`.

    Returns:
        float32 ``(B, 2·num_bins, H_in, W_in)``.
    """
    (sensor_w, sensor_h), (out_w, out_h), bins = spec.sensor_size, spec.out_size, spec.num_bins
    batch, plane, device = len(counts), out_h * out_w, x.device
    sample = torch.repeat_interleave(torch.arange(batch, device=device), counts,
                                     output_size=num_events)
    scale = (bins - 1) / spans.double()
    # As in the numba kernel: where span·scale rounds past the last bin, one ulp less keeps
    # τ(span) in it instead of leaking ~1e-16 into the next channel.
    scale = torch.where(spans * scale > bins - 1, torch.nextafter(scale, torch.zeros_like(scale)),
                        scale)
    tau = dt.double() * scale[sample]
    lower = tau.long()  # tau >= 0: truncation is floor
    frac = tau - lower
    xi = (2 * x.long() + 1) * out_w // (2 * sensor_w)
    yi = (2 * y.long() + 1) * out_h // (2 * sensor_h)
    channel = sample * (2 * bins) + lower + bins * (~p).long()
    index = channel * plane + yi * out_w + xi
    # The upper bin's weight is exactly 0 when ⌊τ⌋ is the last bin; it then lands in the
    # next channel (or a spare plane at the end), which is cheaper than masking.
    index = torch.cat([index, index + plane])
    weights = torch.cat([1.0 - frac, frac])
    cells = batch * 2 * bins * plane
    grid = torch.zeros(cells + plane, dtype=torch.float32, device=device)
    grid.index_add_(0, index, weights.float())
    if needs_float64(num_events, float(grid.max()), bins):
        grid = torch.zeros(cells + plane, dtype=torch.float64, device=device)
        grid = grid.index_add_(0, index, weights).float()
    return grid[:cells].view(batch, 2 * bins, out_h, out_w)

