"""Scale of a voxel grid that does not depend on the sensor size or the event rate.

The same target seen through a 1280×720 sensor puts about 16× more events into each cell of
a 64×64 crop than through a 320×180 one, and a recorded stream holds several times fewer
events than a simulated one; a network trained on one count range fails on the other. The
grid's weights are therefore divided by a per-window scale before ``log1p``:

* ``'nonzero_mean'``: the mean weight of the window's non-zero cells (as E2VID normalises
  over its non-zero pixels), so a window's busy cells sit near 1 whatever the event rate
  and the sensor pixels behind each cell;
* ``'pixels_per_cell'``: the sensor pixels along one side of a cell, ``W / W_in`` (an edge
  crossing a cell fires in proportion to its length in sensor pixels); the event rate
  still shows.

Works on numpy arrays and torch tensors alike (the numba workers and the device kernel).
"""
NORMALIZATIONS = ('nonzero_mean', 'pixels_per_cell')


def check_normalization(normalize: str | None, owner: str) -> str | None:
    """``normalize`` if it names a scale (or is None); a ValueError naming ``owner`` else."""
    if normalize is not None and normalize not in NORMALIZATIONS:
        raise ValueError(f'{owner}: normalize={normalize!r}; expected None or one of '
                         f'{list(NORMALIZATIONS)}')
    return normalize


def grid_scale(normalize: str, total, nonzero, sensor_width: int, out_width: int):
    """The divisor of one window's grid weights.

    Args:
        normalize: One of :data:`NORMALIZATIONS`.
        total: Sum of the grid's weights (a number or a per-window tensor).
        nonzero: Number of non-zero cells (same type as ``total``).
        sensor_width, out_width: ``W`` of the sensor (or crop) and ``W_in`` of the grid.

    Returns:
        ``total / nonzero`` (1 for an empty window) or ``W / W_in``.
    """
    if normalize == 'pixels_per_cell':
        return sensor_width / out_width
    return total / (nonzero + (nonzero == 0)) + (nonzero == 0)
