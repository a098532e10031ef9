import numpy as np
import pytest

from sparkpose.datasets import SPADES_CAMERA
from sparkpose.simulation import (
    camera_for_resolution,
    fitting_distance,
    random_trajectory,
)
from sparkpose.structures import proba2_like
from sparkpose.visualization import project_points

K = np.asarray(SPADES_CAMERA['cameraMatrix'], np.float64)
SIZE = (1280, 720)


def test_fitting_distance_of_spades_camera():
    # A 1 m sphere needs f·r / z <= 360 - 8 px vertically (slightly more off-axis rays).
    z = fitting_distance(K, SIZE, radius=1.0, margin=8)
    assert 1258.6 / 352 < z < 1258.6 / 352 * 1.05


@pytest.mark.parametrize('resolution', [(1280, 720), (320, 320)])
def test_trajectories_keep_body_in_view_and_in_range(resolution):
    body = proba2_like()
    K_res = np.asarray(camera_for_resolution(resolution)['cameraMatrix'])
    times = np.linspace(0, 30, 301)
    for seed in range(10):
        trajectory = random_trajectory(np.random.default_rng(seed), K_res, resolution,
                                       body.bounding_radius, min_distance=3.0,
                                       max_distance=12.0, max_tumble_rate=20.0)
        rotation, translation = trajectory.pose(times)
        np.testing.assert_allclose(rotation @ rotation.transpose(0, 2, 1),
                                   np.broadcast_to(np.eye(3), rotation.shape), atol=1e-12)
        np.testing.assert_allclose(np.linalg.det(rotation), 1, atol=1e-12)
        assert np.all(translation[:, 2] >= fitting_distance(K_res, resolution, 1.0) * 0.99)
        assert np.all(translation[:, 2] <= 12.0)
        corners = body.corners @ rotation.transpose(0, 2, 1) + translation[:, None]
        uv = project_points(corners, K_res)
        assert np.all(uv >= 0) and np.all(uv < resolution)
        # Tumbling at a constant rate within the limit, and moving smoothly.
        relative = rotation[1:] @ rotation[:-1].transpose(0, 2, 1)
        angle = np.degrees(np.arccos(np.clip((np.trace(relative, axis1=1, axis2=2) - 1) / 2,
                                             -1, 1)))
        rate = angle / np.diff(times)
        assert 20.0 * 0.25 * 0.99 <= rate.min() and rate.max() <= 20.0 * 1.001
        np.testing.assert_allclose(rate, rate[0], rtol=1e-6)
        assert np.abs(np.diff(translation, axis=0)).max() / 0.1 < 2.0  # m/s


def test_trajectory_is_seeded():
    body = proba2_like()
    args = (K, SIZE, body.bounding_radius)
    times = np.linspace(0, 5, 11)
    first = random_trajectory(np.random.default_rng(7), *args).pose(times)
    again = random_trajectory(np.random.default_rng(7), *args).pose(times)
    other = random_trajectory(np.random.default_rng(8), *args).pose(times)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[1], other[1])


def test_body_too_large_for_range_is_an_error():
    with pytest.raises(ValueError, match='max_distance'):
        random_trajectory(np.random.default_rng(0), K, SIZE, radius=1.0, max_distance=3.0)
