"""Pose losses built from config: hand values, zero at target, autocast safety."""
import math

import numpy as np
import pytest
import torch

from sparkpose.registry import MODELS
from sparkpose.structures import proba2_like, quaternion_to_matrix

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


def random_rotations(num, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return quaternion_to_matrix(torch.randn(num, 4, generator=generator))


TURNS_180 = np.array(proba2_like().symmetries)  # identity and the 180° turns about x, y, z


def test_symmetric_geodesic_loss_vanishes_at_every_symmetric_copy():
    loss = MODELS.build(dict(type='SymmetricGeodesicLoss', symmetries=TURNS_180.tolist()))
    target = random_rotations(5)
    plain = MODELS.build(dict(type='GeodesicRotationLoss'))
    for sym in torch.as_tensor(TURNS_180, dtype=torch.float32):
        pred = target @ sym
        # Zero up to the acos clamp and float32 rounding (~1e-3 rad).
        assert loss(pred, target, reduction_override='none').max().item() < 2e-3
        if not torch.equal(sym, torch.eye(3)):  # the plain loss sees a 180° error there
            assert plain(pred, target).item() == pytest.approx(math.pi, abs=1e-2)


def test_symmetric_geodesic_loss_is_the_distance_to_the_nearest_copy():
    loss = MODELS.build(dict(type='SymmetricGeodesicLoss', symmetries=TURNS_180.tolist(),
                             loss_weight=2.0))
    target = quaternion_to_matrix(torch.tensor([IDENTITY]))
    # 90° about z is 90° from both the identity and the 180° z-turn, and 180° from x/y-turns.
    pred = quaternion_to_matrix(torch.tensor([Z90]))
    assert loss(pred, target).item() == pytest.approx(2.0 * math.pi / 2, abs=1e-5)
    # 170° about z is 10° from the z-turn copy.
    angle = math.radians(170)
    near_flip = torch.tensor([[0.0, 0.0, math.sin(angle / 2), math.cos(angle / 2)]])
    assert loss(quaternion_to_matrix(near_flip), target).item() == pytest.approx(
        2.0 * math.radians(10), abs=1e-4)
    # Quaternions are accepted too (QuaternionPoseHead passes (B, 4)).
    assert loss(near_flip, torch.tensor([IDENTITY])).item() == pytest.approx(
        2.0 * math.radians(10), abs=1e-4)


def test_symmetric_geodesic_loss_with_identity_only_equals_the_plain_loss():
    symmetric = MODELS.build(dict(type='SymmetricGeodesicLoss', symmetries=[np.eye(3).tolist()],
                                  reduction='none'))
    plain = MODELS.build(dict(type='GeodesicRotationLoss', reduction='none'))
    pred, target = random_rotations(8, seed=1), random_rotations(8, seed=2)
    torch.testing.assert_close(symmetric(pred, target), plain(pred, target))


def test_symmetric_geodesic_loss_reads_the_body_model(tmp_path):
    path = proba2_like().save(tmp_path / 'body.json')
    from_file = MODELS.build(dict(type='SymmetricGeodesicLoss', body_model=str(path)))
    torch.testing.assert_close(from_file.symmetries,
                               torch.as_tensor(TURNS_180, dtype=torch.float32))
    assert 'symmetries' not in from_file.state_dict()  # checkpoints are unchanged


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16, torch.float16])
def test_symmetric_geodesic_loss_gradient_is_finite(dtype):
    loss = MODELS.build(dict(type='SymmetricGeodesicLoss', symmetries=TURNS_180.tolist()))
    target = random_rotations(4)
    # Exactly at a copy (the clamp matters there) and away from every copy.
    param = torch.cat([target[:2] @ torch.as_tensor(TURNS_180[1:3], dtype=torch.float32),
                       random_rotations(2, seed=3)]).requires_grad_()
    with torch.autocast('cpu', dtype=dtype, enabled=dtype != torch.float32):
        value = loss(param @ torch.eye(3), target)
    value.backward()
    assert torch.isfinite(value) and value.item() > 0.05
    assert torch.isfinite(param.grad).all() and param.grad[2:].abs().sum() > 0


def test_symmetric_geodesic_loss_errors_name_the_value():
    with pytest.raises(ValueError, match='exactly one of body_model'):
        MODELS.build(dict(type='SymmetricGeodesicLoss'))
    with pytest.raises(ValueError, match=r'shape \(2, 3\)'):
        MODELS.build(dict(type='SymmetricGeodesicLoss', symmetries=[[1, 0, 0], [0, 1, 0]]))
    with pytest.raises(ValueError, match='first symmetry must be the identity'):
        MODELS.build(dict(type='SymmetricGeodesicLoss', symmetries=TURNS_180[::-1].tolist()))
    with pytest.raises(ValueError, match='rotation matrix'):
        MODELS.build(dict(type='SymmetricGeodesicLoss', symmetries=[np.diag([1, 1, -1.0])]))
    loss = MODELS.build(dict(type='SymmetricGeodesicLoss', symmetries=TURNS_180.tolist()))
    with pytest.raises(ValueError, match=r'\(2, 6\)'):
        loss(torch.zeros(2, 6), torch.zeros(2, 6))
