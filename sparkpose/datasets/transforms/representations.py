"""Event-window representations: the tensors a network sees (voxel grid, event frame)."""
from collections.abc import Sequence

import numpy as np
import torch

from sparkpose.registry import TRANSFORMS
from sparkpose.structures.grid_normalization import check_normalization, grid_scale
from sparkpose.structures.sparse_inputs import SparseInputs
from sparkpose.structures.window_events import GridSpec, WindowEvents

from .base import sample_name
from .voxel_kernels import SparseVoxelizer, voxel_grid_fused


@TRANSFORMS.register_module()
class EventsToVoxelGrid:
    """Two-polarity temporal voxel grid of the sample's window, built at the input size.

    Channels ``[0, num_bins)`` hold ON events and ``[num_bins, 2·num_bins)`` OFF events.
    Time is bilinear with the E2VID convention (Zhu et al. 2019, Rebecq et al. 2019):
    ``τ = (t − t_start) / (t_end − t_start) · (num_bins − 1)`` over the window
    ``(t_start, t_end]`` and each event's unit weight is split between bins ``⌊τ⌋`` and
    ``⌊τ⌋ + 1``. Space: the grid is built directly at ``input_size`` by mapping each
    event's pixel centre, ``x_in = ⌊(x + 0.5)·W_in / W⌋`` (same for ``y``), never by
    resizing a full-resolution grid; ``cam_K`` is replaced by
    ``diag(W_in/W, H_in/H, 1)·K``, so a 3-D point projected with the new K falls in the
    input pixel its events land in.

    By default the grid is not normalised: its total weight equals the number of events in
    the window (an empty window gives zeros). ``normalize`` divides the weights by a
    per-window scale that makes the grid independent of the sensor size and the event
    rate (:mod:`~sparkpose.structures.grid_normalization`); ``log1p=True`` then stores
    ``log(1 + weight)``, which keeps busy cells (a near target, a crop shrunk from a large
    one) in the same range as sparse ones. The work is done by the fused numba kernel
    :func:`~sparkpose.datasets.transforms.voxel_kernels.voxel_grid_fused`. Two other
    forms of ``inputs`` cost a DataLoader worker less to hand over, and
    :class:`~sparkpose.models.data_preprocessors.PoseDataPreprocessor` turns both into the
    same grid on the model's device:

    * ``sparse=True``: the grid's non-zero cells as
      :class:`~sparkpose.structures.SparseInputs`, built without a dense grid per window
      (:class:`~sparkpose.datasets.transforms.voxel_kernels.SparseVoxelizer`); the choice
      for grids of 256×256 and the like, where the target covers a small part;
    * ``on_device=True``: the window's events as
      :class:`~sparkpose.structures.WindowEvents` (9 bytes per event instead of 8 bytes
      per non-zero cell), voxelised by the data preprocessor: the choice for
      full-resolution grids.

    Reads ``events``, ``window_us``, ``sensor_size``, ``cam_K``; adds ``inputs``
    (float32 ``(2·num_bins, H_in, W_in)``, ``SparseInputs`` or ``WindowEvents``),
    ``input_size`` ``(W_in, H_in)`` and replaces ``cam_K``.

    Args:
        num_bins: Temporal bins per polarity.
        input_size: Target ``(W_in, H_in)`` in pixels; ``None`` keeps the sensor resolution
            (the EventResNet configs run at full 1280×720).
        log1p: Store ``log(1 + weight)`` instead of the raw weights.
        normalize: ``None``, ``'nonzero_mean'`` or ``'pixels_per_cell'``: divide the weights
            by that per-window scale before ``log1p``.
        sparse: Give the grid as its non-zero cells.
        on_device: Hand the events over and build the grid in the data preprocessor.
    """

    def __init__(self, num_bins: int = 5,
                 input_size: Sequence[int] | None = (256, 256), log1p: bool = False,
                 normalize: str | None = None, sparse: bool = False,
                 on_device: bool = False) -> None:
        if int(num_bins) != num_bins or num_bins < 1:
            raise ValueError(f'{type(self).__name__}: num_bins must be a positive integer, '
                             f'got {num_bins!r}')
        if input_size is not None and (len(input_size) != 2
                                       or any(int(s) != s or s < 1 for s in input_size)):
            raise ValueError(f'{type(self).__name__}: input_size must be (W_in, H_in) '
                             f'positive integers or None, got {input_size!r}')
        if sparse and on_device:
            raise ValueError(f'{type(self).__name__}: sparse=True and on_device=True exclude '
                             f'each other (on_device hands over events, not a grid)')
        self.num_bins = int(num_bins)
        self.log1p, self.sparse, self.on_device = log1p, sparse, on_device
        self.normalize = check_normalization(normalize, type(self).__name__)
        self._sparse_voxelizer = SparseVoxelizer()
        self.input_size = None if input_size is None else (int(input_size[0]),
                                                           int(input_size[1]))

    def __call__(self, results: dict) -> dict:
        """Add ``inputs``, ``input_size`` and the scaled ``cam_K`` to ``results``."""
        if 'input_size' in results:
            # A second representation would scale cam_K twice.
            raise ValueError(f"{type(self).__name__}: {sample_name(results)} already went "
                             f"through a representation transform (it has 'input_size' "
                             f"{results['input_size']}); use one per pipeline")
        sensor_w, sensor_h = (int(s) for s in results['sensor_size'])
        out_w, out_h = self.input_size or (sensor_w, sensor_h)
        if self.on_device:
            spec = GridSpec(self.num_bins, (sensor_w, sensor_h), (out_w, out_h), self.log1p,
                            self.normalize)
            results['inputs'] = self.hand_over(results, spec)
        elif self.sparse:
            results['inputs'] = self.represent_sparse(results, (sensor_w, sensor_h),
                                                      (out_w, out_h))
        else:
            inputs = self.represent(results, (sensor_w, sensor_h), (out_w, out_h))
            if self.normalize:
                inputs /= np.float32(grid_scale(self.normalize, float(inputs.sum(dtype=np.float64)),
                                                np.count_nonzero(inputs), sensor_w, out_w))
            results['inputs'] = np.log1p(inputs) if self.log1p else inputs
        results['input_size'] = (out_w, out_h)
        scale = np.diag([out_w / sensor_w, out_h / sensor_h, 1.0])
        results['cam_K'] = scale @ np.asarray(results['cam_K'], dtype=np.float64)
        return results

    def hand_over(self, results: dict, spec: GridSpec) -> WindowEvents:
        """The window's events in compact form, for the data preprocessor to voxelise."""
        self._checked_events(results)
        try:
            return WindowEvents.from_window(results['events'], results['window_us'], spec)
        except ValueError as error:
            raise ValueError(f'{type(self).__name__}: {sample_name(results)}: {error}') from None

    def _checked_events(self, results: dict) -> tuple[tuple[np.ndarray, ...], int, int]:
        """``(x, y, t, p), t_start, t_end`` of the window: arrays of one length, a
        non-empty window."""
        events = results['events']
        x, y, t, p = (np.asarray(events[k]) for k in 'xytp')
        if not len(x) == len(y) == len(t) == len(p):
            # Also a memory-safety check: the kernels index all four with x's length.
            raise ValueError(f'{type(self).__name__}: {sample_name(results)} events x, y, '
                             f't, p differ in length: {len(x)}, {len(y)}, {len(t)}, {len(p)}')
        t_start, t_end = (int(v) for v in results['window_us'])
        if t_end <= t_start:
            raise ValueError(f'{type(self).__name__}: {sample_name(results)} window_us '
                             f'{results["window_us"]} is empty; need t_start < t_end (µs)')
        return (x, y, t, p), t_start, t_end

    def represent(self, results: dict, sensor_size: tuple[int, int],
                  out_size: tuple[int, int]) -> np.ndarray:
        """The voxel grid, float32 ``(2·num_bins, H_in, W_in)``."""
        events, t_start, t_end = self._checked_events(results)
        grid, skipped = voxel_grid_fused(*events, t_start, t_end, self.num_bins,
                                         *sensor_size, *out_size)
        self._check_skipped(results, skipped, events, (t_start, t_end), sensor_size)
        return grid

    def represent_sparse(self, results: dict, sensor_size: tuple[int, int],
                         out_size: tuple[int, int]) -> SparseInputs:
        """The voxel grid's non-zero cells (``log1p`` applied to them)."""
        events, t_start, t_end = self._checked_events(results)
        *cells, skipped = self._sparse_voxelizer(*events, t_start, t_end, self.num_bins,
                                                 *sensor_size, *out_size)
        self._check_skipped(results, skipped, events, (t_start, t_end), sensor_size)
        values = cells[1]
        if self.normalize:
            values /= np.float32(grid_scale(self.normalize, float(values.sum(dtype=np.float64)),
                                            len(values), sensor_size[0], out_size[0]))
        if self.log1p:  # log1p(0) = 0: the same cells stay non-zero
            np.log1p(cells[1], out=cells[1])
        return SparseInputs(*map(torch.from_numpy, cells),
                            (2 * self.num_bins, out_size[1], out_size[0]))

    def _check_skipped(self, results: dict, skipped: int, events: tuple[np.ndarray, ...],
                       window: tuple[int, int], sensor_size: tuple[int, int]) -> None:
        """Raise when the kernel skipped events: they lie outside the sensor or window."""
        if skipped:
            x, y, t, _ = events
            raise ValueError(
                f'{type(self).__name__}: {sample_name(results)} has {skipped} events outside '
                f'the sensor {sensor_size} or the window (t_start, t_end] = '
                f'({window[0]}, {window[1]}] µs: x in [{x.min()}, {x.max()}], y in '
                f'[{y.min()}, {y.max()}], t in [{t.min()}, {t.max()}]')


@TRANSFORMS.register_module()
class EventsToFrame(EventsToVoxelGrid):
    """Two-channel event frame: per-pixel ON and OFF counts at the input size.

    A one-bin :class:`EventsToVoxelGrid` (channel 0 = ON, 1 = OFF), with the same
    coordinate and ``cam_K`` scaling and the same keys read and written.

    Args:
        input_size: Target ``(W_in, H_in)`` in pixels; ``None`` keeps the sensor resolution.
        log1p: Store ``log(1 + count)`` instead of raw counts (compresses busy pixels).
        normalize: Per-window scale of the counts, as for :class:`EventsToVoxelGrid`.
        sparse: Give the frame as its non-zero cells.
        on_device: Hand the events over and build the frame in the data preprocessor.
    """

    def __init__(self, input_size: Sequence[int] | None = (256, 256),
                 log1p: bool = False, normalize: str | None = None, sparse: bool = False,
                 on_device: bool = False) -> None:
        super().__init__(num_bins=1, input_size=input_size, log1p=log1p, normalize=normalize,
                         sparse=sparse, on_device=on_device)

