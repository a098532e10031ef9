"""Pose heads built from config: losses, backward, decoding to metres and canonical quaternions."""
import math

import pytest
import torch

from sparkpose.models.heads import BasePoseHead
from sparkpose.models.heads.uncertainty_pose_head import LOG_VAR_COLUMNS
from sparkpose.registry import MODELS
from sparkpose.structures import (
    PoseDataSample,
    geodesic_distance_quaternion,
    matrix_to_rotation_6d,
    quaternion_to_matrix,
)

HEADS = ['QuaternionPoseHead', 'Rot6DPoseHead', 'UncertaintyPoseHead']
CODEC = dict(type='TranslationNormalizer', mean=(-0.24, 0.03, 5.68), std=(0.93, 0.50, 1.40))


def build_head(head_type, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(type=head_type, in_channels=16, hidden_dim=32, dropout=0.0,
                             **kwargs))


def samples_with_gt(num=4):
    generator = torch.Generator().manual_seed(1)
    quats = torch.nn.functional.normalize(torch.randn(num, 4, generator=generator), dim=-1)
    samples = []
    for index, quat in enumerate(quats):
        sample = PoseDataSample(metainfo=dict(seq_id='RT000', label_index=index))
        sample.gt_t = torch.tensor([0.1 * index, -0.2, 4.0 + index])
        sample.gt_q = quat
        samples.append(sample)
    return samples


def set_output(head, translation, rotation):
    """Make the head output constants: zero weights, the wanted biases."""
    with torch.no_grad():
        for layer, bias in ((head.fc_translation, translation), (head.fc_rotation, rotation)):
            layer.weight.zero_()
            layer.bias.copy_(torch.as_tensor(bias))


@pytest.mark.parametrize('head_type', HEADS)
def test_loss_is_finite_and_backpropagates(head_type):
    head = build_head(head_type, codec=CODEC)
    feats = (torch.randn(4, 16, requires_grad=True),)
    losses = head.loss(feats, samples_with_gt())
    assert set(losses) == {'loss_translation', 'loss_rotation'}
    assert all(v.ndim == 0 and torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in head.parameters())
    assert feats[0].grad.abs().sum() > 0


@pytest.mark.parametrize('head_type', HEADS)
def test_predict_gives_metres_and_canonical_unit_quaternions(head_type):
    head = build_head(head_type, codec=CODEC).eval()
    samples = head.predict((torch.randn(6, 16),), [PoseDataSample() for _ in range(6)])
    pred_q = torch.stack([s.pred_q for s in samples])
    torch.testing.assert_close(pred_q.norm(dim=-1), torch.ones(6))
    assert (pred_q[:, 3] >= 0).all()
    # Zero translation output decodes to the codec mean, in metres.
    set_output(head, [0.0, 0.0, 0.0], head.identity_rotation)
    samples = head.predict((torch.randn(3, 16),), [PoseDataSample() for _ in range(3)])
    for sample in samples:
        torch.testing.assert_close(sample.pred_t, torch.tensor(CODEC['mean']))
        torch.testing.assert_close(sample.pred_q, torch.tensor([0.0, 0.0, 0.0, 1.0]))
    # Output 1 is one standard deviation above the mean.
    set_output(head, [1.0, 1.0, 1.0], head.identity_rotation)
    sample = head.predict((torch.randn(1, 16),), [PoseDataSample()])[0]
    torch.testing.assert_close(sample.pred_t, torch.tensor([0.69, 0.53, 7.08]))


def test_without_codec_translation_is_regressed_in_metres():
    head = build_head('Rot6DPoseHead')
    set_output(head, [0.5, -0.25, 6.0], head.identity_rotation)
    sample = samples_with_gt(1)[0]
    sample.gt_t = torch.tensor([0.5, -0.25, 6.0])
    sample.gt_q = torch.tensor([0.0, 0.0, 0.0, 1.0])
    assert head.loss((torch.randn(1, 16),), [sample])['loss_translation'].item() == 0
    pred = head.predict((torch.randn(1, 16),), [PoseDataSample()])[0]
    torch.testing.assert_close(pred.pred_t, torch.tensor([0.5, -0.25, 6.0]))


@pytest.mark.parametrize('head_type', HEADS)
def test_losses_vanish_at_the_target_and_grow_away_from_it(head_type):
    head = build_head(head_type, codec=CODEC)
    sample = samples_with_gt(1)[0]
    gt_q = torch.tensor([-0.5, 0.5, -0.5, -0.5])  # w < 0: the head must not care about sign
    sample.gt_q = gt_q
    encoded_t = head.codec.encode(sample.gt_t)
    rotation = gt_q if head.rotation_dim == 4 else matrix_to_rotation_6d(quaternion_to_matrix(gt_q))
    set_output(head, encoded_t, rotation)
    feats = (torch.randn(1, 16),)
    losses = head.loss(feats, [sample])
    assert losses['loss_translation'].item() < 1e-10
    assert abs(losses['loss_rotation'].item()) < 2e-3
    pred = head.predict(feats, [PoseDataSample()])[0]
    assert geodesic_distance_quaternion(pred.pred_q, gt_q).item() < 1e-3
    torch.testing.assert_close(pred.pred_t, sample.gt_t)

    set_output(head, encoded_t + 0.5, rotation + 0.3)
    losses = head.loss(feats, [sample])
    assert losses['loss_translation'].item() > 0.05 and losses['loss_rotation'].item() > 0.05


def test_rot6d_rotation_loss_is_the_geodesic_angle():
    head = build_head('Rot6DPoseHead', loss_rotation=dict(type='GeodesicRotationLoss',
                                                          loss_weight=3.0))
    z90 = torch.tensor([0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)])
    set_output(head, [0.0, 0.0, 0.0], matrix_to_rotation_6d(quaternion_to_matrix(z90)))
    sample = samples_with_gt(1)[0]
    sample.gt_q = torch.tensor([0.0, 0.0, 0.0, 1.0])
    loss = head.loss((torch.randn(1, 16),), [sample])['loss_rotation']
    assert loss.item() == pytest.approx(3.0 * math.pi / 2, abs=1e-5)


def test_uncertainty_head_weights_losses_by_predicted_log_variance():
    plain = build_head('Rot6DPoseHead', codec=CODEC)
    uncertain = build_head('UncertaintyPoseHead', codec=CODEC)
    uncertain.load_state_dict(plain.state_dict(), strict=False)
    feats, samples = (torch.randn(4, 16),), samples_with_gt()
    plain_losses = plain.loss(feats, samples)
    # The log-variance branch starts at zero: exp(0)·L + 0 = L.
    for name, value in uncertain.loss(feats, samples).items():
        torch.testing.assert_close(value, plain_losses[name])
    with torch.no_grad():
        uncertain.fc_log_var.bias.copy_(torch.tensor([math.log(2.0), -1.0]))
    losses = uncertain.loss(feats, samples)
    torch.testing.assert_close(losses['loss_translation'],
                               plain_losses['loss_translation'] / 2 + math.log(2.0))
    torch.testing.assert_close(losses['loss_rotation'],
                               plain_losses['loss_rotation'] * math.e - 1.0)
    pred = uncertain.predict(feats, [PoseDataSample() for _ in range(4)])
    torch.testing.assert_close(pred[0].pred_extras['log_var'],
                               torch.tensor([math.log(2.0), -1.0]))


def test_head_errors_name_the_problem():
    head = build_head('Rot6DPoseHead')
    with pytest.raises(ValueError, match='GlobalAveragePooling'):
        head((torch.randn(2, 16, 4, 4),))
    sample = PoseDataSample(metainfo=dict(seq_id='RT901', label_index=0))
    with pytest.raises(ValueError, match=r'samples \[0\] have no gt_t/gt_q'):
        head.loss((torch.randn(1, 16),), [sample])
    with pytest.raises(KeyError, match=r"Rot6DPoseHead: codec=\{'type': 'TranslationNorm'\}"):
        build_head('Rot6DPoseHead', codec=dict(type='TranslationNorm'))
    with pytest.raises(TypeError, match=r'loss_rotation=.*beta'):
        build_head('Rot6DPoseHead', loss_rotation=dict(type='GeodesicRotationLoss', beta=1))


def test_uncertainty_head_returns_its_terms_in_the_documented_order():
    """mmengine sums the loss dict in its order: translation, then rotation, whatever
    order ``loss_terms`` produced them in."""
    head = build_head('UncertaintyPoseHead', codec=CODEC)
    terms = BasePoseHead.loss_terms

    def reversed_terms(*args, **kwargs):
        return dict(reversed(list(terms(head, *args, **kwargs).items())))

    head.loss_terms = reversed_terms
    losses = head.loss((torch.randn(4, 16),), samples_with_gt())
    assert list(losses) == list(LOG_VAR_COLUMNS) == ['loss_translation', 'loss_rotation']
