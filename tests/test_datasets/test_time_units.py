"""resolve_time_unit: the label-spacing tolerance of the unit detection."""
import numpy as np
import pytest

from sparkpose.datasets.format_error import SPADESFormatError
from sparkpose.datasets.time_units import resolve_time_unit


@pytest.mark.parametrize('spacing,expected', [(1000, '100us'), (1150, '100us'), (880, '100us'),
                                              (100_000, 'us'), (95_000, 'us'), (10_000, None),
                                              (1, None), (2000, None)])
def test_resolve_time_unit_spacing_tolerance(spacing, expected):
    rng = np.random.default_rng(0)
    # Jittered stamps: the median spacing decides, not the odd irregular gap.
    stamps = np.cumsum(np.r_[spacing, np.full(30, spacing) + rng.integers(-1, 2, 30)])
    stamps[10:] += 7 * spacing  # one long gap (a dropped label run)
    if expected is None:
        with pytest.raises(SPADESFormatError, match='f.h5: cannot tell the timestamp unit'):
            resolve_time_unit('f.h5', stamps, 'auto', None)
    else:
        assert resolve_time_unit('f.h5', stamps, 'auto', None) == expected
