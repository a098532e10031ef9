"""Where the target is in an event window: a noise-robust cluster detector.

Used by :class:`~sparkpose.datasets.transforms.CropToTarget` when no ground truth places
the crop; kept apart from the crop so its thresholds and their reasons live in one place.
"""
import numba
import numpy as np

# A cell is marked when its capped count exceeds the noise by this many events on top of
# threshold_sigma Poisson sigmas: keeps near-empty cells (noise ~1 event) and a couple of
# capped hot pixels from standing out.
MIN_EXCESS = 4.0
# A cluster near the strongest one joins it when its excess is at least this share of it.
MERGE_SHARE = 0.1


def locate_target(xi: np.ndarray, yi: np.ndarray, sensor_size: tuple[int, int], cell: int,
                  pixel_cap: float = 4.0, threshold_sigma: float = 4.0, quantile: float = 0.02
                  ) -> tuple[int, int, int, int] | None:
    """Box of the strongest event cluster above a uniform noise floor; None if none stands out.

    A percentile box of all events fails when noise is 30-60 % of the window and hot pixels
    fire hundreds of times, so:

    * each event weighs ``min(1, pixel_cap / n)`` for the ``n`` events of its pixel (a hot
      pixel counts as ``pixel_cap`` events), summed on cells of ``cell`` px;
    * the noise density is the Poisson mean of the cells left by sigma-clipping from the
      10 % quantile, which holds while the target leaves a tenth of the cells free;
    * a cell is marked when its excess over the noise exceeds
      ``threshold_sigma·√noise + MIN_EXCESS``, or it is above noise and its 3×3
      neighbourhood's excess passes that test (faint, extended parts);
    * marked cells less than three cells apart form a cluster; the one with the largest
      excess wins, together with clusters near it (:func:`_merge_parts`);
    * the box is where the noise-subtracted column and row profiles of the cluster's cells
      leave out ``quantile`` of the excess on each side: sub-cell, and far steadier under
      added noise than the cell box or a dilated region.

    Args:
        xi, yi: ``(N,)`` signed integer pixel coordinates inside the sensor.
        sensor_size: ``(W, H)`` (px).
        cell: Cell side (px).
        pixel_cap: Weight a pixel may carry.
        threshold_sigma: Poisson sigmas above the noise for a marked cell.
        quantile: Excess fraction left out on each side of the box.

    Returns:
        ``(x_lo, y_lo, x_hi, y_hi)``: the box ``[x_lo, x_hi) × [y_lo, y_hi)`` in pixels.
    """
    width, height = sensor_size
    if not len(xi):
        return None
    import cv2  # here: a slow import, paid only where a crop runs
    weights = capped_pixel_weights(xi, yi, width, height, pixel_cap)
    grid_w, grid_h = -(-width // cell), -(-height // cell)
    # Cell of each event from small tables: faster than integer division of every event.
    cells = (np.arange(height) // cell * grid_w)[yi] + (np.arange(width) // cell)[xi]
    counts = np.bincount(cells, weights=weights, minlength=grid_w * grid_h)
    counts = counts.reshape(grid_h, grid_w)
    col_widths = np.minimum(cell, width - cell * np.arange(grid_w))
    row_heights = np.minimum(cell, height - cell * np.arange(grid_h))
    area = np.outer(row_heights, col_widths).astype(np.float64)
    ratios = (counts / area).ravel()
    density = np.partition(ratios, len(ratios) // 10)[len(ratios) // 10]  # noise per pixel
    for _ in range(5):
        expected = density * area
        quiet = counts <= expected + 3 * np.sqrt(expected) + 1
        density = counts[quiet].sum() / area[quiet].sum()
    expected = density * area
    excess = counts - expected
    marked = excess > threshold_sigma * np.sqrt(expected) + MIN_EXCESS
    excess_3, expected_3 = (cv2.boxFilter(v, -1, (3, 3), normalize=False,
                                          borderType=cv2.BORDER_CONSTANT)
                            for v in (excess, expected))
    marked |= ((excess > np.sqrt(expected) + 1)
               & (excess_3 > threshold_sigma * np.sqrt(expected_3) + MIN_EXCESS))
    if not marked.any():
        return None

    grown = cv2.dilate(marked.astype(np.uint8), np.ones((3, 3), np.uint8))
    num, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    scores = np.bincount(labels[marked], weights=excess[marked], minlength=num)
    scores[0] = 0.0  # the background
    # Only the cluster's cells: a ring of noise cells around them would double the noise
    # in the profiles of a small target.
    chosen = np.zeros(num, dtype=bool)
    chosen[_merge_parts(scores, stats)] = True
    region = marked & chosen[labels]
    # A lone noise fluctuation (with the neighbours it drags in) is not a target: ask twice
    # a cell's margin of the whole cluster (1-3 % of pure-noise windows pass without it).
    if excess[region].sum() <= 2 * (threshold_sigma * np.sqrt(expected[region].sum())
                                    + MIN_EXCESS):
        return None
    inside = np.flatnonzero(region.ravel()[cells])
    kept = weights.take(inside)
    col_noise = np.repeat(density * (region * row_heights[:, None]).sum(0), col_widths)
    row_noise = np.repeat(density * (region * col_widths).sum(1), row_heights)
    x_range = _excess_range(xi.take(inside), kept, col_noise, quantile)
    y_range = _excess_range(yi.take(inside), kept, row_noise, quantile)
    if x_range is None or y_range is None:
        return None
    return x_range[0], y_range[0], x_range[1], y_range[1]


def _merge_parts(scores: np.ndarray, stats: np.ndarray) -> list[int]:
    """Labels of the strongest cluster and the parts near it (solar wings across a gap).

    A cluster joins when its excess is at least ``MERGE_SHARE`` of the strongest one's and
    its box is within half the merged box's longer side of it, so a part whose link to the
    body drowned in noise stays in, while lone noise cells and hot pixels do not.

    Args:
        scores: Excess of each label (label 0, the background, scores 0).
        stats: ``cv2.connectedComponentsWithStats`` boxes ``(left, top, width, height, _)``.
    """
    best = int(np.argmax(scores))
    taken = [best]
    left, top, width, height = (int(v) for v in stats[best, :4])
    box = [left, top, left + width, top + height]
    candidates = [j for j in np.argsort(-scores) if j != best
                  and scores[j] >= MERGE_SHARE * scores[best]]
    changed = True
    while changed:
        changed = False
        reach = max(box[2] - box[0], box[3] - box[1]) / 2
        for j in candidates:
            left, top, width, height = (int(v) for v in stats[j, :4])
            gap = max(box[0] - left - width, left - box[2], box[1] - top - height, top - box[3])
            if j not in taken and gap <= reach:
                taken.append(int(j))
                box = [min(box[0], left), min(box[1], top), max(box[2], left + width),
                       max(box[3], top + height)]
                changed = True
    return taken


def _excess_range(index: np.ndarray, weights: np.ndarray, noise: np.ndarray,
                  quantile: float) -> tuple[int, int] | None:
    """``[lo, hi)`` holding all but ``quantile`` of the excess on each side; None if none.

    Args:
        index: Pixel column (row) of each event.
        weights: Weight of each event.
        noise: Expected noise weight of each column (row), subtracted before the sums.
        quantile: Fraction of the total excess left out on each side.
    """
    profile = np.bincount(index, weights=weights, minlength=len(noise)) - noise
    total = profile.sum()
    if not total > 0:
        return None
    lo = int(np.argmax(np.cumsum(profile) >= quantile * total))
    hi = len(noise) - int(np.argmax(np.cumsum(profile[::-1]) >= quantile * total))
    return lo, hi


@numba.njit(cache=True, nogil=True)
def capped_pixel_weights(xi: np.ndarray, yi: np.ndarray, width: int, height: int,
                         pixel_cap: float) -> np.ndarray:
    """``min(1, pixel_cap / n)`` for each event, ``n`` the events of its pixel.

    :func:`capped_pixel_weights_reference` in two passes over the events with a 16-bit
    count per pixel instead of an int64 count table per window (7 MB at 1280×720). The
    count saturates at 65535: a pixel with more events weighs ``pixel_cap / 65535`` per
    event, slightly more than the reference's ``pixel_cap / n``.
    """
    counts = np.zeros(width * height, np.uint16)
    for i in range(xi.shape[0]):
        pixel = yi[i] * width + xi[i]
        if counts[pixel] < 65535:
            counts[pixel] += 1
    weights = np.empty(xi.shape[0], np.float64)
    for i in range(xi.shape[0]):
        weights[i] = min(1.0, pixel_cap / counts[yi[i] * width + xi[i]])
    return weights


def capped_pixel_weights_reference(xi: np.ndarray, yi: np.ndarray, width: int, height: int,
                                   pixel_cap: float) -> np.ndarray:
    """``min(1, pixel_cap / n)`` for each event, ``n`` the events of its pixel, with plain
    numpy: the reference :func:`capped_pixel_weights` is tested against."""
    pixel = np.asarray(yi, np.int64) * width + np.asarray(xi, np.int64)
    counts = np.bincount(pixel, minlength=width * height)
    return np.minimum(1.0, pixel_cap / counts[pixel])
