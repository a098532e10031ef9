"""Object-centric input: crop a square around the target (found by ``target_detector``)."""
import numpy as np

from sparkpose.registry import TRANSFORMS

from .base import sample_name, sample_rng
from .target_detector import locate_target


@TRANSFORMS.register_module()
class CropToTarget:
    """Crop the events to a square around the target, so the network sees it at a fixed scale.

    The target is found on a coarse grid of cells (see :func:`locate_target`), robust to
    uniform background noise and hot pixels. The crop is a square of integer side ``S``
    with integer top-left ``(x0, y0)`` in sensor pixels; it may extend past the sensor
    (the representation sees empty pixels there). Events are shifted by ``(−x0, −y0)``,
    ``sensor_size`` becomes ``(S, S)`` and the principal point moves by ``(−x0, −y0)``
    (focal lengths unchanged), so projection with the new ``cam_K`` stays exact; the
    representation transform then scales the crop to its input size. Without a target
    (empty or pure-noise window) the crop is the centred square of side ``max(W, H)``
    holding the whole sensor.

    Must come after event transforms that need the full sensor (``RandomHorizontalFlip``
    requires ``cx = W/2``) and before the representation transform. Jitter draws from the
    sample's own generator (:func:`~sparkpose.datasets.transforms.base.sample_rng`), only
    when a jitter is non-zero.

    Reads ``events``, ``sensor_size``, ``cam_K`` (and ``gt_t`` with ``use_gt``); replaces
    the first three and adds ``crop_box`` ``(x0, y0, S)`` (ints, original sensor pixels)
    and ``crop_fallback`` (True when no target was found).

    Args:
        scale: Crop side over the target box's longer side.
        min_size: Smallest crop side (px).
        shift_jitter: Training jitter: the centre moves by up to this fraction of ``S``
            on each axis (uniform). Not applied to the fallback crop.
        scale_jitter: Training jitter: ``S`` is multiplied by a factor uniform in
            ``[1 − scale_jitter, 1 + scale_jitter]``.
        use_gt: Oracle for experiments: centre on the projected body origin ``K·t/Tz``
            with target size ``2·f·body_radius/Tz`` (``f = max(fx, fy)``); samples
            without ``gt_t`` (test files) use the events.
        body_radius: Body bounding radius (m) for ``use_gt``.
        cell_fraction: Grid cell side as a fraction of the sensor width.
        min_cell: Smallest cell side (px).
        pixel_cap: Events a pixel may contribute to the localisation (hot pixels).
        threshold_sigma: Poisson sigmas above the noise for a cell to count as target.
        quantile: Fraction of the target's excess events left out on each side of its box.
        max_locate_events: The target is located on at most this many of the window's
            events (every ``k``-th, evenly spread in time), which bounds the cost of busy
            full-sensor windows (~70k events) without changing sparser ones; the crop
            keeps all events. None: all events.
    """

    def __init__(self, scale: float = 1.25, min_size: int = 32, shift_jitter: float = 0.0,
                 scale_jitter: float = 0.0, use_gt: bool = False, body_radius: float = 1.0,
                 cell_fraction: float = 1 / 40, min_cell: int = 4, pixel_cap: float = 4.0,
                 threshold_sigma: float = 4.0, quantile: float = 0.02,
                 max_locate_events: int | None = 16384) -> None:
        args = dict(scale=scale, min_size=min_size, shift_jitter=shift_jitter,
                    scale_jitter=scale_jitter, body_radius=body_radius,
                    cell_fraction=cell_fraction, min_cell=min_cell, pixel_cap=pixel_cap,
                    threshold_sigma=threshold_sigma, quantile=quantile,
                    max_locate_events=max_locate_events)
        valid = dict(scale=scale > 0, min_size=int(min_size) == min_size and min_size >= 1,
                     shift_jitter=0 <= shift_jitter < 0.5, scale_jitter=0 <= scale_jitter < 1,
                     body_radius=body_radius > 0, cell_fraction=0 < cell_fraction <= 1,
                     min_cell=int(min_cell) == min_cell and min_cell >= 1,
                     pixel_cap=pixel_cap > 0, threshold_sigma=threshold_sigma >= 0,
                     quantile=0 <= quantile < 0.5,
                     max_locate_events=max_locate_events is None or max_locate_events >= 1)
        bad = ', '.join(f'{k}={args[k]!r}' for k, ok in valid.items() if not ok)
        if bad:
            raise ValueError(f'{type(self).__name__}: invalid {bad}; need scale > 0, '
                             f'min_size and min_cell positive ints, shift_jitter in [0, 0.5), '
                             f'scale_jitter in [0, 1), body_radius > 0, cell_fraction in '
                             f'(0, 1], pixel_cap > 0, threshold_sigma >= 0, quantile in '
                             f'[0, 0.5), max_locate_events None or >= 1')
        self.scale, self.min_size = float(scale), int(min_size)
        self.shift_jitter, self.scale_jitter = float(shift_jitter), float(scale_jitter)
        self.use_gt, self.body_radius = use_gt, float(body_radius)
        self.cell_fraction, self.min_cell = float(cell_fraction), int(min_cell)
        self.pixel_cap, self.threshold_sigma = float(pixel_cap), float(threshold_sigma)
        self.quantile = float(quantile)
        self.max_locate_events = max_locate_events

    def __call__(self, results: dict) -> dict:
        """Crop ``results``; see the class docstring."""
        name = type(self).__name__
        if 'inputs' in results or 'crop_box' in results:
            raise ValueError(f"{name}: {sample_name(results)} already has "
                             f"{'inputs' if 'inputs' in results else 'crop_box'}; the crop "
                             f"works on the full-sensor events, once, before the "
                             f"representation transform (EventsToVoxelGrid, EventsToFrame)")
        width, height = (int(s) for s in results['sensor_size'])
        cam_k = np.array(results['cam_K'], dtype=np.float64)
        events = results['events']
        xi = np.asarray(events['x']).astype(np.intp, copy=False)
        yi = np.asarray(events['y']).astype(np.intp, copy=False)
        if len(xi) != len(yi):
            raise ValueError(f'{name}: {sample_name(results)} events x and y differ in length: '
                             f'{len(xi)}, {len(yi)}')
        if len(xi) and (xi.min() < 0 or yi.min() < 0 or xi.max() >= width
                        or yi.max() >= height):
            # Checked here: a crop past the sensor would otherwise keep such events unseen.
            raise ValueError(f'{name}: {sample_name(results)} has events outside the sensor '
                             f'{(width, height)}: x in [{xi.min()}, {xi.max()}], y in '
                             f'[{yi.min()}, {yi.max()}]; expected 0 <= x < W, 0 <= y < H')

        target = self._gt_target(results, cam_k) if self.use_gt else None
        if target is None:
            cell = max(self.min_cell, round(width * self.cell_fraction))
            step = max(1, -(-len(xi) // (self.max_locate_events or len(xi) or 1)))
            box = locate_target(xi[::step], yi[::step], (width, height), cell, self.pixel_cap,
                                self.threshold_sigma, self.quantile)
            if box is not None:
                x_lo, y_lo, x_hi, y_hi = box
                target = ((x_lo + x_hi) / 2, (y_lo + y_hi) / 2, max(x_hi - x_lo, y_hi - y_lo))
        fallback = target is None
        if fallback:
            side = max(width, height)
            x0, y0 = (width - side) // 2, (height - side) // 2
        else:
            centre_x, centre_y, size = target
            size *= self.scale
            if self.scale_jitter:
                size *= sample_rng(results).uniform(1 - self.scale_jitter,
                                                    1 + self.scale_jitter)
            if self.shift_jitter:
                shift = sample_rng(results).uniform(-self.shift_jitter, self.shift_jitter,
                                                    2) * size
                centre_x, centre_y = centre_x + shift[0], centre_y + shift[1]
            side = max(self.min_size, int(np.ceil(size)))
            x0 = int(np.floor(centre_x - side / 2 + 0.5))
            y0 = int(np.floor(centre_y - side / 2 + 0.5))

        results['events'] = crop_events(events, xi, yi, x0, y0, side)
        cam_k[0, 2] -= x0
        cam_k[1, 2] -= y0
        results.update(sensor_size=(side, side), cam_K=cam_k, crop_box=(x0, y0, side),
                       crop_fallback=fallback)
        return results

    def _gt_target(self, results: dict, cam_k: np.ndarray
                   ) -> tuple[float, float, float] | None:
        """``(u, v, size)`` of the body from the pose; None without a usable ``gt_t``."""
        if 'gt_t' not in results:
            return None
        t = np.asarray(results['gt_t'], dtype=np.float64)
        if not (np.isfinite(t).all() and t[2] > 0):
            return None
        u, v, _ = cam_k @ (t / t[2])
        size = 2 * max(cam_k[0, 0], cam_k[1, 1]) * self.body_radius / t[2]
        return (float(u), float(v), float(size)) if np.isfinite([u, v, size]).all() else None


def crop_events(events: dict, xi: np.ndarray, yi: np.ndarray, x0: int, y0: int,
                side: int) -> dict:
    """Events in ``[x0, x0 + S) × [y0, y0 + S)``, shifted to the crop, as a new dict.

    Args:
        events: The window's ``x, y, t, p`` (and any other per-event arrays).
        xi, yi: ``events['x']``, ``events['y']`` as signed integers.
        x0, y0: Top-left of the crop (px).
        side: Crop side ``S`` (px).

    Returns:
        The kept events; ``x, y`` in ``[0, S)`` keep their dtype when it holds ``S − 1``
        (the voxel kernel is compiled per dtype), else become int64.
    """
    xs, ys = xi - x0, yi - y0
    # One unsigned comparison per axis (negative offsets wrap to huge values); take() with
    # indices beats boolean indexing for the scattered events of a window.
    kept = np.flatnonzero((xs.view(np.uintp) < side) & (ys.view(np.uintp) < side))
    out = {}
    for key, value in events.items():
        if key in ('x', 'y'):
            dtype = np.asarray(value).dtype
            if not (np.issubdtype(dtype, np.integer) and np.iinfo(dtype).max >= side - 1):
                dtype = np.dtype(np.int64)
            out[key] = (xs if key == 'x' else ys).take(kept).astype(dtype, copy=False)
        elif isinstance(value, np.ndarray) and value.shape[:1] == xs.shape:
            out[key] = value.take(kept, axis=0)
        else:
            out[key] = value
    return out
