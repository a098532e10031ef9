"""RansacPnPSolver: a pose with its status from keypoints; the placeholder when PnP fails."""
import numpy as np
import pytest
import torch

from sparkpose.models.heads.pnp import fallback_pose
from sparkpose.registry import MODELS
from sparkpose.structures import proba2_like, quaternion_to_matrix

INPUT = 64
K = np.array([[120.0, 0, 32], [0, 120.0, 32], [0, 0, 1]])


def _pose(seed):
    rng = np.random.default_rng(seed)
    quat = rng.standard_normal(4)
    rotation = quaternion_to_matrix(torch.tensor(quat / np.linalg.norm(quat))).numpy()
    return rotation, np.array([0.05, -0.1, 7.0]) + rng.normal(0, 0.1, 3)


def _keypoints(seed):
    body = proba2_like()
    rotation, t = _pose(seed)
    points = body.keypoints @ rotation.T + t
    uv = points[:, :2] / points[:, 2:] * K[[0, 1], [0, 1]] + K[:2, 2]
    return body, rotation, t, uv


def _solve(body, uv, scores, solver=None, **kwargs):
    solver = MODELS.build(solver or dict(type='RansacPnPSolver'))
    return solver(body.keypoints, uv, scores, K, (INPUT, INPUT), body.bounding_radius,
                  **kwargs)


def test_exact_keypoints_give_the_pose_with_every_inlier():
    body, rotation, t, uv = _keypoints(0)
    result = _solve(body, uv, np.ones(len(uv)))
    assert result.ok and result.status_name == 'pnp_ok' and result.num_inliers == len(uv)
    np.testing.assert_allclose(result.rotation, rotation, atol=1e-6)
    np.testing.assert_allclose(result.translation, t, atol=1e-5)
    assert result.confidence == pytest.approx(1.0)


def test_outliers_are_left_out_and_failures_say_so():
    body, _, t, uv = _keypoints(1)
    corrupted = uv.copy()
    corrupted[:3] += 15.0  # three wild keypoints
    result = _solve(body, corrupted, np.ones(len(uv)))
    assert result.ok and result.num_inliers == len(uv) - 3
    np.testing.assert_allclose(result.translation, t, atol=1e-4)
    confident = np.zeros(len(uv))
    confident[:5] = 1.0
    strict = dict(type='RansacPnPSolver', min_keypoints=6, all_keypoints_pnp=False)
    failed = _solve(body, uv, confident, strict)
    assert not failed.ok and failed.status_name == 'fallback' and failed.confidence == 0
    assert failed.num_inliers == 0 and np.isfinite(failed.translation).all()
    nan_points = np.full_like(uv, np.nan)
    assert _solve(body, nan_points, np.ones(len(uv))).status_name == 'fallback'


def test_window_flags_override_the_keypoints():
    body, _, _, uv = _keypoints(2)
    scores = np.ones(len(uv))
    no_events = _solve(body, uv, scores, num_events=0)
    assert not no_events.ok and no_events.status_name == 'no_events'
    no_target = _solve(body, uv, scores, crop_fallback=True)
    assert no_target.ok and no_target.status_name == 'no_target'
    assert no_target.confidence == pytest.approx(_solve(body, uv, scores).confidence / 2)


def test_too_few_keypoints_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match='min_keypoints=3'):
        MODELS.build(dict(type='RansacPnPSolver', min_keypoints=3))


def test_fallback_pose_is_finite_and_on_the_keypoint_ray():
    rotation, translation = fallback_pose(np.full((14, 2), np.nan), K, 1.0, (INPUT, INPUT))
    assert np.array_equal(rotation, np.eye(3)) and np.isfinite(translation).all()
    # The input centre is the principal point here: the ray is the optical axis.
    np.testing.assert_allclose(translation[:2], 0, atol=1e-12)
    np.testing.assert_allclose(translation[2], 120.0 * 2 / (0.8 * INPUT))
