import numpy as np
import pytest
import torch

from sparkpose.evaluation import PoseMetric
from sparkpose.registry import MODELS
from sparkpose.structures import (
    POSE_STATUSES,
    PoseDataSample,
    geodesic_distance_quaternion,
    proba2_like,
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
    uv, _, _ = head.gt_keypoints(samples, torch.device('cpu'))
    cells = uv / (INPUT / size) - 0.5
    grid = torch.arange(size, dtype=torch.float32)
    dist = ((grid[None, None, None, :] - cells[..., 0, None, None]) ** 2
            + (grid[None, None, :, None] - cells[..., 1, None, None]) ** 2)
    return -sharpness * dist


def test_ideal_heatmaps_decode_to_the_true_pose(body_file):
    head = _head(body_file)
    samples = [_sample(*_pose(seed)) for seed in range(3)]
    heatmaps = _ideal_heatmaps(head, samples)
    head.forward = lambda feats: dict(heatmaps=heatmaps)
    out = head.predict(None, samples)
    uv, visible, _ = head.gt_keypoints(samples, torch.device('cpu'))
    assert visible.all()
    for sample, true_uv in zip(out, uv):
        extras = sample.pred_extras
        assert set(extras) == set(head.extra_outputs) and bool(extras['pnp_ok'])
        assert (extras['keypoints'] - true_uv).norm(dim=-1).max() < 0.01
        assert (extras['keypoint_scores'] > 0.5).all()
        angle = geodesic_distance_quaternion(sample.pred_q[None], sample.gt_q[None])
        assert torch.rad2deg(angle).item() < 0.1
        assert (sample.pred_t - sample.gt_t).norm() < 0.01
    # The metric measures the keypoints against the projected ground truth.
    metric = PoseMetric(body_model=body_file, sequence_filters={})
    metric.process(None, [s.to_dict() for s in out])
    assert all(r['keypoint_err_px'] < 0.01 for r in metric.results)
    assert metric.compute_metrics(metric.results)['kpt_err_px_median'] < 0.01


def test_flat_heatmaps_fall_back_and_are_counted(body_file):
    head = _head(body_file)
    samples = [_sample(*_pose(3))]
    head.forward = lambda feats: dict(heatmaps=torch.zeros(1, 14, 16, 16))
    sample = head.predict(None, samples)[0]
    assert not bool(sample.pred_extras['pnp_ok'])
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
    _, visible, _ = head.gt_keypoints(far, torch.device('cpu'))
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
    with pytest.raises(ValueError, match="cam_K and input_size.*mode='predict'"):
        model.predict_pose(inputs)


def test_head_rejects_pooled_features(body_file):
    with pytest.raises(ValueError, match='FeatureFusion'):
        _head(body_file)(torch.rand(2, 8))


def test_unknown_parts_and_wrong_keypoint_count_name_the_config_key(body_file):
    with pytest.raises(KeyError, match=r"solver=\{'type': 'EPnPSolver'\}"):
        _head(body_file, solver=dict(type='EPnPSolver'))
    with pytest.raises(KeyError, match=r"codec=\{'type': 'MSRAHeatmap'\}"):
        _head(body_file, codec=dict(type='MSRAHeatmap'))
    with pytest.raises(TypeError, match='loss_keypoint='):
        _head(body_file, loss_keypoint=dict(type='SoftArgmaxL1Loss', weight=0.1))
    head = _head(body_file)
    with pytest.raises(ValueError, match=r'body_model=.*body.json.* with 14 keypoints'):
        head.decode(dict(heatmaps=torch.zeros(1, 8, 16, 16)), torch.eye(3)[None],
                    torch.tensor([[64.0, 64.0]]))
    samples = [_sample(*_pose(0))]
    head.forward = lambda feats: dict(heatmaps=_ideal_heatmaps(head, samples))
    sample = head.predict(None, samples)[0]
    sample.pred_extras['keypoints'] = sample.pred_extras['keypoints'][:8]
    metric = PoseMetric(body_model=body_file, sequence_filters={})
    with pytest.raises(ValueError, match=r'\(8, 2\).*model.head.body_model'):
        metric.process(None, [sample.to_dict()])



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
    names = [POSE_STATUSES[int(s.pred_extras['pose_status'])] for s in out]
    assert names == ['pnp_ok', 'fallback', 'no_events', 'no_target']
    confidence = [float(s.pred_extras['pose_confidence']) for s in out]
    assert confidence[0] > 0.5 and confidence[1] == 0 and confidence[2] == 0
    assert 0 < confidence[3] < confidence[0]
    for sample in out:
        assert torch.isfinite(sample.pred_t).all() and torch.isfinite(sample.pred_q).all()


def test_pnp_on_all_keypoints_before_the_placeholder(body_file):
    """Maps too flat for the confidence threshold but peaked at the right places: PnP on
    all keypoints finds the pose; with all_keypoints_pnp=False the placeholder stays."""
    samples = [_sample(*_pose(5))]
    for retry, expected in ((True, 'pnp_all_keypoints'), (False, 'fallback')):
        head = _head(body_file, solver=dict(type='RansacPnPSolver', all_keypoints_pnp=retry))
        heatmaps = _ideal_heatmaps(head, samples, sharpness=0.02)
        head.forward = lambda feats, maps=heatmaps: dict(heatmaps=maps)
        sample = head.predict(None, [_sample(*_pose(5))])[0]
        assert POSE_STATUSES[int(sample.pred_extras['pose_status'])] == expected
        assert float(sample.pred_extras['pose_confidence']) == 0  # for the filter to override


def test_state_dict_keys_are_those_of_existing_checkpoints(body_file):
    """Codec, solver and losses hold no weights: checkpoints of the one-class head load."""
    keys = {'conv.0.weight', 'conv.1.weight', 'conv.1.bias', 'conv.1.running_mean',
            'conv.1.running_var', 'conv.1.num_batches_tracked', 'conv.3.weight', 'conv.3.bias'}
    assert set(_head(body_file).state_dict()) == keys


def test_decode_of_raw_heatmaps_gives_the_poses_of_predict(body_file):
    """What a deployment computes after the exported network: the same poses and, for
    windows with events and a found target, the same solver path."""
    head = _head(body_file)
    samples = [_sample(*_pose(seed)) for seed in range(3)]
    heatmaps = _ideal_heatmaps(head, samples)
    heatmaps[2] = 0  # one placeholder among them
    head.forward = lambda feats: dict(heatmaps=heatmaps)
    out = head.predict(None, samples)
    assert [POSE_STATUSES[int(s.pred_extras['pose_status'])] for s in out] == [
        'pnp_ok', 'pnp_ok', 'fallback']
    cam_K = torch.tensor(K, dtype=torch.float32).expand(3, 3, 3)
    t, q = head.decode(dict(heatmaps=heatmaps), cam_K, torch.full((3, 2), float(INPUT)))
    assert torch.equal(t, torch.stack([s.pred_t for s in out]))
    assert torch.equal(q, torch.stack([s.pred_q for s in out]))
    with pytest.raises(ValueError, match='cam_K and input_size'):
        head.decode(dict(heatmaps=heatmaps))
