import numpy as np
import pytest
import torch

from sparkpose.models.heads.pnp import fallback_pose, solve_pnp
from sparkpose.registry import MODELS
from sparkpose.structures import (
    POSE_STATUSES,
    PoseDataSample,
    geodesic_distance_quaternion,
    proba2_like,
    quaternion_to_matrix,
)

INPUT = 64
K = np.array([[120.0, 0, 32], [0, 120.0, 32], [0, 0, 1]])


@pytest.fixture
def body_file(tmp_path):
    return str(proba2_like().save(tmp_path / 'body.json'))


def _sample(q, t, size=INPUT):
    sample = PoseDataSample(metainfo=dict(cam_K=K, input_size=(size, size)))
    sample.gt_t = torch.tensor(t, dtype=torch.float32)
    sample.gt_q = torch.tensor(q, dtype=torch.float32)
    return sample


def _pose(seed):
    rng = np.random.default_rng(seed)
    quat = rng.standard_normal(4)
    return quat / np.linalg.norm(quat), np.array([0.05, -0.1, 7.0]) + rng.normal(0, 0.1, 3)


def _head(body_file, **kwargs):
    return MODELS.build(dict(type='KeypointHeatmapHead', in_channels=8, body_model=body_file,
                             **kwargs))


def _ideal_heatmaps(head, samples, size=16, sharpness=0.5):
    """Logits peaked at the true keypoints (what a perfect network would output)."""
    uv, _ = head.project_keypoints(samples, torch.device('cpu'))
    cells = uv / (INPUT / size) - 0.5
    grid = torch.arange(size, dtype=torch.float32)
    dist = ((grid[None, None, None, :] - cells[..., 0, None, None]) ** 2
            + (grid[None, None, :, None] - cells[..., 1, None, None]) ** 2)
    return -sharpness * dist


def test_pnp_recovers_pose_from_exact_keypoints():
    body = proba2_like()
    quat, t = _pose(0)
    rotation = quaternion_to_matrix(torch.tensor(quat)).numpy()
    points = body.keypoints @ rotation.T + t
    uv = points[:, :2] / points[:, 2:] * K[[0, 1], [0, 1]] + K[:2, 2]
    result = solve_pnp(body.keypoints, uv, np.ones(len(uv)), K)
    assert result is not None and result.ok and result.num_inliers == len(uv)
    np.testing.assert_allclose(result.rotation, rotation, atol=1e-6)
    np.testing.assert_allclose(result.translation, t, atol=1e-5)


def test_pnp_rejects_outliers_and_too_few_points():
    body = proba2_like()
    quat, t = _pose(1)
    rotation = quaternion_to_matrix(torch.tensor(quat)).numpy()
    points = body.keypoints @ rotation.T + t
    uv = points[:, :2] / points[:, 2:] * K[[0, 1], [0, 1]] + K[:2, 2]
    corrupted = uv.copy()
    corrupted[:3] += 15.0  # three wild keypoints
    result = solve_pnp(body.keypoints, corrupted, np.ones(len(uv)), K)
    assert result is not None and result.num_inliers == len(uv) - 3
    np.testing.assert_allclose(result.translation, t, atol=1e-4)
    confident = np.zeros(len(uv))
    confident[:5] = 1.0
    assert solve_pnp(body.keypoints, uv, confident, K, min_points=6) is None
    nan_points = np.full_like(uv, np.nan)
    assert solve_pnp(body.keypoints, nan_points, np.ones(len(uv)), K) is None


def test_fallback_pose_is_finite_and_on_the_keypoint_ray():
    rotation, translation = fallback_pose(np.full((14, 2), np.nan), K, 1.0, (INPUT, INPUT))
    assert np.array_equal(rotation, np.eye(3)) and np.isfinite(translation).all()
    # The input centre is the principal point here: the ray is the optical axis.
    np.testing.assert_allclose(translation[:2], 0, atol=1e-12)
    np.testing.assert_allclose(translation[2], 120.0 * 2 / (0.8 * INPUT))


def test_ideal_heatmaps_decode_to_the_true_pose(body_file):
    head = _head(body_file)
    samples = [_sample(*_pose(seed)) for seed in range(3)]
    heatmaps = _ideal_heatmaps(head, samples)
    pixels, scores = head.decode_keypoints(heatmaps, samples)
    uv, visible = head.project_keypoints(samples, torch.device('cpu'))
    assert visible.all()
    assert (pixels - uv).norm(dim=-1).max() < 0.01 and (scores > 0.5).all()
    # predict() with a head whose forward returns those maps.
    head.forward = lambda feats: dict(heatmaps=heatmaps)
    out = head.predict(None, samples)
    for sample in out:
        assert bool(sample.pnp_ok)
        angle = geodesic_distance_quaternion(sample.pred_q[None], sample.gt_q[None])
        assert torch.rad2deg(angle).item() < 0.1
        assert (sample.pred_t - sample.gt_t).norm() < 0.01
        assert sample.keypoint_err_px < 0.01 and sample.pred_keypoints.shape == (14, 2)


def test_flat_heatmaps_fall_back_and_are_counted(body_file):
    head = _head(body_file)
    samples = [_sample(*_pose(3))]
    head.forward = lambda feats: dict(heatmaps=torch.zeros(1, 14, 16, 16))
    sample = head.predict(None, samples)[0]
    assert not bool(sample.pnp_ok)
    assert torch.isfinite(sample.pred_t).all() and torch.isfinite(sample.pred_q).all()
    np.testing.assert_allclose(sample.pred_q.numpy(), [0, 0, 0, 1], atol=1e-6)


def test_loss_is_lower_for_the_right_heatmaps_and_masks_outside_points(body_file):
    head = _head(body_file)
    samples = [_sample(*_pose(seed)) for seed in range(2)]
    good = _ideal_heatmaps(head, samples)
    head.forward = lambda feats: dict(heatmaps=feats)
    right = head.loss(good, samples)
    wrong = head.loss(good.flip(-1), samples)
    assert right['loss_heatmap'] < wrong['loss_heatmap']
    assert right['loss_keypoint'] < wrong['loss_keypoint']
    # A target far outside the input contributes nothing.
    far = [_sample(*_pose(0)), _sample(_pose(0)[0], [40.0, 0.0, 7.0])]
    _, visible = head.project_keypoints(far, torch.device('cpu'))
    assert visible[0].all() and not visible[1].any()
    single = head.loss(good[:1], far[:1])
    both = head.loss(torch.cat([good[:1], torch.zeros_like(good[:1])]), far)
    assert torch.allclose(single['loss_heatmap'], both['loss_heatmap'])


def test_estimator_trains_and_predicts_through_all_modes(body_file):
    model = MODELS.build(dict(
        type='PoseEstimator',
        backbone=dict(type='VoxelCNN', in_channels=10, channels=(8, 16, 16),
                      out_indices=(1, 2)),
        neck=dict(type='FeatureFusion', in_channels=(16, 16), out_channels=8),
        head=dict(type='KeypointHeatmapHead', in_channels=8, body_model=body_file)))
    inputs = torch.rand(2, 10, INPUT, INPUT)
    samples = [_sample(*_pose(seed)) for seed in range(2)]
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_heatmap', 'loss_keypoint'}
    sum(losses.values()).backward()
    assert model.head.conv[0].weight.grad.abs().sum() > 0
    assert model(inputs, mode='tensor')['heatmaps'].shape == (2, 14, 16, 16)
    model.eval()
    with torch.no_grad():
        out = model(inputs, samples, mode='predict')
    assert all(torch.isfinite(s.pred_t).all() and s.pred_q.shape == (4,) for s in out)
    with pytest.raises(NotImplementedError, match="mode='predict'"):
        model.predict_pose(inputs)


def test_head_rejects_pooled_features(body_file):
    with pytest.raises(ValueError, match='FeatureFusion'):
        _head(body_file)(torch.rand(2, 8))



def test_statuses_and_confidences(body_file):
    """PnP ok → confident; flat maps → placeholder with confidence 0; a window without
    events or without a found target is flagged whatever the maps say."""
    head = _head(body_file)
    samples = [_sample(*_pose(seed)) for seed in range(4)]
    samples[2].set_metainfo(dict(num_events=0))
    samples[3].set_metainfo(dict(crop_fallback=True))
    heatmaps = _ideal_heatmaps(head, samples)
    heatmaps[1] = 0
    head.forward = lambda feats: dict(heatmaps=heatmaps)
    out = head.predict(None, samples)
    names = [POSE_STATUSES[int(s.pose_status)] for s in out]
    assert names == ['pnp_ok', 'fallback', 'no_events', 'no_target']
    confidence = [float(s.pose_confidence) for s in out]
    assert confidence[0] > 0.5 and confidence[1] == 0 and confidence[2] == 0
    assert 0 < confidence[3] < confidence[0]
    for sample in out:
        assert torch.isfinite(sample.pred_t).all() and torch.isfinite(sample.pred_q).all()


def test_pnp_on_all_keypoints_before_the_placeholder(body_file):
    """Maps too flat for the confidence threshold but peaked at the right places: PnP on
    all keypoints finds the pose; with all_keypoints_pnp=False the placeholder stays."""
    samples = [_sample(*_pose(5))]
    for retry, expected in ((True, 'pnp_all_keypoints'), (False, 'fallback')):
        head = _head(body_file, all_keypoints_pnp=retry)
        heatmaps = _ideal_heatmaps(head, samples, sharpness=0.02)
        head.forward = lambda feats, maps=heatmaps: dict(heatmaps=maps)
        sample = head.predict(None, [_sample(*_pose(5))])[0]
        assert POSE_STATUSES[int(sample.pose_status)] == expected
        assert float(sample.pose_confidence) == 0  # for the filter to override
