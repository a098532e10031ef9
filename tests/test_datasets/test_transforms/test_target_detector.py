"""The target detector's numba pass against its plain numpy reference."""
import numpy as np
import pytest

from sparkpose.datasets.transforms.target_detector import (
    capped_pixel_weights,
    capped_pixel_weights_reference,
)


@pytest.mark.parametrize('n,cap', [(0, 3.0), (1, 0.5), (5000, 3.0), (5000, 1e9)])
def test_capped_weights_equal_the_numpy_reference(n, cap):
    rng = np.random.default_rng(n)
    xi = rng.integers(0, 40, n).astype(np.int64)
    yi = rng.integers(0, 30, n).astype(np.int64)
    if n > 2:  # the sensor's corners, and a hot pixel above the cap
        xi[:2], yi[:2] = (0, 39), (0, 29)
        xi[2:40], yi[2:40] = 7, 11
    weights = capped_pixel_weights(xi, yi, 40, 30, cap)
    np.testing.assert_array_equal(weights, capped_pixel_weights_reference(xi, yi, 40, 30, cap))
    assert n < 5000 or cap > n or weights.min() < 1


def test_the_count_saturates_at_65535_events_per_pixel():
    xi = yi = np.zeros(70_000, np.int64)
    weights = capped_pixel_weights(xi, yi, 4, 4, 10.0)
    assert weights[0] == 10.0 / 65535
    assert capped_pixel_weights_reference(xi, yi, 4, 4, 10.0)[0] == 10.0 / 70_000
