"""Pose losses built from config: hand values, zero at target, autocast safety."""
import math

import pytest
import torch

from sparkpose.registry import MODELS
from sparkpose.structures import quaternion_to_matrix

Z90 = [0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)]  # +90° about z
IDENTITY = [0.0, 0.0, 0.0, 1.0]


def test_smooth_l1_translation_loss_hand_values():
    loss = MODELS.build(dict(type='SmoothL1TranslationLoss', beta=1.0, loss_weight=2.0))
    pred = torch.zeros(2, 3)
    target = torch.tensor([[0.5, 2.0, 0.0], [0.0, 0.0, 0.0]])
    # Sample 0: (0.5·0.5² + (2 − 0.5) + 0) / 3 = 1.625 / 3; sample 1: 0.
    expected = torch.tensor([1.625 / 3, 0.0]) * 2.0
    torch.testing.assert_close(loss(pred, target, reduction_override='none'), expected)
    torch.testing.assert_close(loss(pred, target), expected.mean())
    # A smaller beta moves the quadratic zone: 0.5 is now linear (0.5 − 0.05).
    small_beta = MODELS.build(dict(type='SmoothL1TranslationLoss', beta=0.1, reduction='sum'))
    torch.testing.assert_close(small_beta(pred, target), torch.tensor((0.45 + 1.95) / 3))


def test_geodesic_rotation_loss_hand_values():
    loss = MODELS.build(dict(type='GeodesicRotationLoss', loss_weight=3.0))
    target = quaternion_to_matrix(torch.tensor([IDENTITY, IDENTITY]))
    pred = quaternion_to_matrix(torch.tensor([Z90, IDENTITY]))
    per_sample = loss(pred, target, reduction_override='none')
    assert per_sample[0].item() == pytest.approx(3.0 * math.pi / 2, abs=1e-5)
    assert 0 <= per_sample[1].item() < 3.0 * 1e-3  # zero up to the acos clamp
    assert loss(pred, target).item() == pytest.approx(per_sample.mean().item())


@pytest.mark.parametrize('mode,expected', [('geodesic', math.pi / 2),
                                           ('cosine', 1 - math.sqrt(0.5))])
def test_quaternion_rotation_loss_is_sign_invariant(mode, expected):
    loss = MODELS.build(dict(type='QuaternionRotationLoss', mode=mode))
    target = torch.tensor([IDENTITY, IDENTITY, Z90])
    pred = torch.tensor([Z90, [0.0, 0.0, 0.0, -1.0], [-2 * v for v in Z90]])  # non-unit, -q
    per_sample = loss(pred, target, reduction_override='none')
    assert per_sample[0].item() == pytest.approx(expected, abs=1e-5)
    assert per_sample[1:].abs().max().item() < 2e-3


def test_uncertainty_weighted_loss_hand_values():
    loss = MODELS.build(dict(type='UncertaintyWeightedLoss'))
    per_sample = torch.tensor([2.0, 2.0])
    log_var = torch.tensor([math.log(2.0), 0.0])
    # exp(-s)·L + s: 1 + ln 2, and 2.
    torch.testing.assert_close(loss(per_sample, log_var, reduction_override='none'),
                               torch.tensor([1 + math.log(2.0), 2.0]))


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="'median'"):
        MODELS.build(dict(type='GeodesicRotationLoss', reduction='median'))
    with pytest.raises(ValueError, match="'l2'"):
        MODELS.build(dict(type='QuaternionRotationLoss', mode='l2'))


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
@pytest.mark.parametrize('loss_type', ['GeodesicRotationLoss', 'QuaternionRotationLoss'])
def test_rotation_losses_finite_under_autocast_at_target(dtype, loss_type):
    loss = MODELS.build(dict(type=loss_type))
    quat = torch.tensor([IDENTITY, Z90, [0.5, 0.5, 0.5, 0.5]])
    is_matrix = loss_type == 'GeodesicRotationLoss'
    target = quaternion_to_matrix(quat) if is_matrix else quat
    param = target.clone().requires_grad_()
    with torch.autocast('cpu', dtype=dtype):
        # A matmul under autocast yields a half-precision prediction equal to the target.
        pred = param @ torch.eye(param.shape[-1])
        assert pred.dtype == dtype
        value = loss(pred, target)
    value.backward()
    assert torch.isfinite(value) and value.item() < 2e-3
    assert torch.isfinite(param.grad).all()
