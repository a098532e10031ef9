"""PoseEstimator end to end on tiny inputs: loss / predict / tensor modes and a train step."""
import pytest
import torch
from mmengine.optim import OptimWrapper

from sparkpose.registry import MODELS
from sparkpose.structures import PoseDataSample

CODEC = dict(type='TranslationNormalizer')


def build_estimator(head_type='Rot6DPoseHead'):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='PoseEstimator',
        backbone=dict(type='VoxelCNN', in_channels=10, channels=(8, 16)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type=head_type, in_channels=16, hidden_dim=32, dropout=0.0, codec=CODEC)))


def packed_batch(num=4, with_gt=True):
    """What PackPoseInputs + the default collate produce."""
    generator = torch.Generator().manual_seed(2)
    samples = []
    for index in range(num):
        sample = PoseDataSample(metainfo=dict(seq_id='RT007', label_index=index,
                                              timestamp=1000 * index))
        if with_gt:
            sample.gt_t = torch.tensor([0.2 * index, 0.1, 5.0 + index])
            sample.gt_q = torch.nn.functional.normalize(torch.randn(4, generator=generator), dim=0)
        samples.append(sample)
    inputs = [torch.rand(10, 32, 32, generator=generator) for _ in range(num)]
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('head_type', ['QuaternionPoseHead', 'Rot6DPoseHead',
                                       'UncertaintyPoseHead'])
def test_train_steps_reduce_the_loss(head_type):
    model = build_estimator(head_type)
    optim_wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=3e-3))
    data = packed_batch()
    first = model.train_step(data, optim_wrapper)
    for _ in range(30):
        last = model.train_step(data, optim_wrapper)
    assert set(first) == {'loss', 'loss_translation', 'loss_rotation'}
    assert last['loss'].item() < 0.5 * first['loss'].item()


def test_predict_keeps_metainfo_and_adds_poses():
    model = build_estimator().eval()
    results = model.val_step(packed_batch(3, with_gt=False))
    assert [(r.seq_id, r.label_index, r.timestamp) for r in results] == [
        ('RT007', 0, 0), ('RT007', 1, 1000), ('RT007', 2, 2000)]
    for result in results:
        assert result.pred_t.shape == (3,) and result.pred_q.shape == (4,)
        assert result.pred_q[3] >= 0 and abs(result.pred_q.norm().item() - 1) < 1e-6
        # An untrained head starts near the codec mean (Tz 5.68 m), i.e. in metres.
        assert 4.0 < result.pred_t[2].item() < 7.5


def test_tensor_mode_and_bare_predict():
    model = build_estimator().eval()
    inputs = torch.rand(2, 10, 32, 32)
    out = model(inputs, mode='tensor')
    assert out['translation'].shape == (2, 3) and out['rotation'].shape == (2, 6)
    results = model(inputs, mode='predict')
    assert len(results) == 2 and isinstance(results[0], PoseDataSample)
    with pytest.raises(ValueError, match="got 'train'"):
        model(inputs, mode='train')


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_loss_under_autocast_is_finite(dtype):
    model = build_estimator()
    data = model.data_preprocessor(packed_batch(), training=True)
    with torch.autocast('cpu', dtype=dtype):
        losses = model(**data, mode='loss')
    sum(losses.values()).backward()
    assert all(torch.isfinite(v) and v.dtype == torch.float32 for v in losses.values())
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_channels_last_gives_the_same_predictions():
    model = build_estimator().eval()
    fast = MODELS.build(dict(
        type='PoseEstimator', channels_last=True,
        backbone=dict(type='VoxelCNN', in_channels=10, channels=(8, 16)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='Rot6DPoseHead', in_channels=16, hidden_dim=32, codec=CODEC))).eval()
    fast.load_state_dict(model.state_dict())
    conv = fast.backbone.layers[0][0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    inputs = torch.rand(2, 10, 32, 32)
    expected, result = model(inputs, mode='tensor'), fast(inputs, mode='tensor')
    for key in expected:
        torch.testing.assert_close(result[key], expected[key], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('head_type', ['QuaternionPoseHead', 'Rot6DPoseHead',
                                       'UncertaintyPoseHead'])
def test_predict_pose_returns_the_decoded_predictions_as_tensors(head_type):
    model = build_estimator(head_type).eval()
    inputs = torch.rand(3, 10, 32, 32, requires_grad=True)
    t, q = model.predict_pose(inputs)
    samples = model.predict(inputs)
    torch.testing.assert_close(t, torch.stack([s.pred_t for s in samples]))
    torch.testing.assert_close(q, torch.stack([s.pred_q for s in samples]))
    # Not detached: usable for export and for losses on decoded poses.
    (t.sum() + q.sum()).backward()
    assert inputs.grad.abs().sum() > 0
