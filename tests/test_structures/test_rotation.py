"""Rotation math against an independent numpy reference (Rodrigues' formula)."""
import math

import numpy as np
import pytest
import torch

from sparkpose.structures import (
    align_quaternion_signs,
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    canonical_quaternion,
    chordal_mean_rotation,
    flip_pose_horizontal,
    geodesic_distance_matrix,
    geodesic_distance_quaternion,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    mean_quaternion,
    quaternion_multiply,
    quaternion_to_matrix,
    rotation_6d_to_matrix,
    symmetric_geodesic_distances,
)

BATCH_SHAPES = [(), (7,), (2, 3, 5)]


def rodrigues(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """``R = I + sinθ·K + (1 − cosθ)·K²`` for unit axes ``(..., 3)`` and angles ``(...)``."""
    x, y, z = np.moveaxis(axis, -1, 0)
    zero = np.zeros_like(x)
    k = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1),
                  np.stack([-y, x, zero], -1)], -2)
    s, c = np.sin(angle)[..., None, None], np.cos(angle)[..., None, None]
    return np.eye(3) + s * k + (1 - c) * k @ k


def axis_angle_quaternion(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """``(axis·sin(θ/2), cos(θ/2))``, scalar-last."""
    return np.concatenate([axis * np.sin(angle / 2)[..., None], np.cos(angle / 2)[..., None]], -1)


def random_axis_angle(shape, rng, low=0.0, high=math.pi):
    axis = rng.normal(size=shape + (3,))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    return axis, rng.uniform(low, high, size=shape)


# 180° turns (w = 0, the hard case of matrix → quaternion) and small angles.
SPECIAL_AXES = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, -1, 1], [0, 3, 4]],
                        dtype=np.float64)
SPECIAL_AXES /= np.linalg.norm(SPECIAL_AXES, axis=-1, keepdims=True)


@pytest.mark.parametrize('shape', BATCH_SHAPES)
def test_quaternion_to_matrix_matches_rodrigues(shape):
    axis, angle = random_axis_angle(shape, np.random.default_rng(0))
    quat = torch.from_numpy(axis_angle_quaternion(axis, angle))
    expected = rodrigues(axis, angle)
    np.testing.assert_allclose(quaternion_to_matrix(quat).numpy(), expected, atol=1e-12)
    # -q is the same rotation, and a non-unit quaternion is normalised first.
    np.testing.assert_allclose(quaternion_to_matrix(-3.5 * quat).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(quaternion_to_matrix(quat.float()).numpy(), expected, atol=1e-6)


def test_quaternion_to_matrix_known_rotation():
    # +90° about z maps x to y: R = [[0, -1, 0], [1, 0, 0], [0, 0, 1]].
    quat = torch.tensor([0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)], dtype=torch.float64)
    expected = torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]], dtype=torch.float64)
    torch.testing.assert_close(quaternion_to_matrix(quat), expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize('shape', BATCH_SHAPES)
@pytest.mark.parametrize('dtype,atol', [(torch.float64, 1e-10), (torch.float32, 1e-6)])
def test_matrix_to_quaternion_matches_reference(shape, dtype, atol):
    axis, angle = random_axis_angle(shape, np.random.default_rng(1), high=math.pi - 1e-3)
    matrix = torch.from_numpy(rodrigues(axis, angle)).to(dtype)
    quat = matrix_to_quaternion(matrix)
    assert quat.shape == shape + (4,) and quat.dtype == dtype
    # Angles in [0, π) give w = cos(θ/2) > 0: the reference is already canonical.
    np.testing.assert_allclose(quat.double().numpy(), axis_angle_quaternion(axis, angle),
                               atol=atol)


@pytest.mark.parametrize('angle', [math.pi, math.pi - 1e-9, 1e-9, 0.0])
def test_matrix_to_quaternion_special_angles(angle):
    angles = np.full(len(SPECIAL_AXES), angle)
    matrix = torch.from_numpy(rodrigues(SPECIAL_AXES, angles))
    quat = matrix_to_quaternion(matrix).numpy()
    expected = axis_angle_quaternion(SPECIAL_AXES, angles)
    # At 180° w = 0 and q, -q are both canonical: compare up to sign.
    np.testing.assert_allclose(np.abs((quat * expected).sum(-1)), 1.0, atol=1e-12)
    assert (quat[:, 3] >= 0).all()
    np.testing.assert_allclose(quaternion_to_matrix(torch.from_numpy(quat)).numpy(),
                               matrix.numpy(), atol=1e-12)


def test_canonicalisation_of_negative_w():
    axis, angle = random_axis_angle((50,), np.random.default_rng(2))
    quat = torch.from_numpy(axis_angle_quaternion(axis, angle))
    flipped = -quat  # w < 0
    torch.testing.assert_close(canonical_quaternion(flipped), quat, atol=0, rtol=0)
    torch.testing.assert_close(canonical_quaternion(quat), quat, atol=0, rtol=0)
    back = matrix_to_quaternion(quaternion_to_matrix(flipped))
    assert (back[:, 3] >= 0).all()
    torch.testing.assert_close(back, quat, atol=1e-12, rtol=0)


@pytest.mark.parametrize('shape', BATCH_SHAPES)
def test_rotation_6d_round_trip_and_gram_schmidt(shape):
    rng = np.random.default_rng(3)
    axis, angle = random_axis_angle(shape, rng)
    matrix = torch.from_numpy(rodrigues(axis, angle))
    torch.testing.assert_close(rotation_6d_to_matrix(matrix_to_rotation_6d(matrix)), matrix,
                               atol=1e-12, rtol=0)
    # Arbitrary 6-vectors: independent Gram–Schmidt in numpy.
    raw = rng.normal(size=shape + (6,))
    a1, a2 = raw[..., :3], raw[..., 3:]
    b1 = a1 / np.linalg.norm(a1, axis=-1, keepdims=True)
    b2 = a2 - (b1 * a2).sum(-1, keepdims=True) * b1
    b2 /= np.linalg.norm(b2, axis=-1, keepdims=True)
    expected = np.stack([b1, b2, np.cross(b1, b2)], -1)
    result = rotation_6d_to_matrix(torch.from_numpy(raw)).numpy()
    np.testing.assert_allclose(result, expected, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(result), 1.0, atol=1e-12)


@pytest.mark.parametrize('shape', BATCH_SHAPES)
@pytest.mark.parametrize('dtype,atol', [(torch.float64, 1e-9), (torch.float32, 2e-4)])
def test_geodesic_distances_equal_relative_angle(shape, dtype, atol):
    rng = np.random.default_rng(4)
    axis0, angle0 = random_axis_angle(shape, rng)
    axis, angle = random_axis_angle(shape, rng, low=0.05, high=math.pi - 0.05)
    r0 = rodrigues(axis0, angle0)
    r1 = r0 @ rodrigues(axis, angle)
    dist = geodesic_distance_matrix(torch.from_numpy(r0).to(dtype), torch.from_numpy(r1).to(dtype))
    assert dist.shape == shape and dist.dtype == dtype
    np.testing.assert_allclose(dist.double().numpy(), angle, atol=atol)
    q0 = matrix_to_quaternion(torch.from_numpy(r0)).to(dtype)
    q1 = matrix_to_quaternion(torch.from_numpy(r1)).to(dtype)
    for pred in (q0, -q0):  # sign-invariant
        dist_q = geodesic_distance_quaternion(pred, q1)
        np.testing.assert_allclose(dist_q.double().numpy(), angle, atol=2 * atol)


def test_geodesic_distance_at_zero_is_finite_and_small():
    matrix = torch.from_numpy(rodrigues(SPECIAL_AXES, np.full(6, 1.0))).requires_grad_()
    dist = geodesic_distance_matrix(matrix, matrix.detach())
    dist.sum().backward()
    assert (dist < 1e-3).all() and torch.isfinite(matrix.grad).all()


def test_flip_pose_horizontal_negates_tx_qy_qz():
    axis, angle = random_axis_angle((20,), np.random.default_rng(5))
    quat = torch.from_numpy(axis_angle_quaternion(axis, angle))
    t = torch.tensor([[0.5, -0.2, 6.0]], dtype=torch.float64).expand(20, 3)
    rotation, translation = flip_pose_horizontal(quaternion_to_matrix(quat), t)
    flipped_q = quat * torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(rotation, quaternion_to_matrix(flipped_q), atol=1e-12, rtol=0)
    torch.testing.assert_close(translation, t * torch.tensor([-1.0, 1.0, 1.0],
                                                             dtype=torch.float64))
    # Any body reflection M (det −1) gives a proper rotation S·R·M.
    reflection = torch.diag(torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64))
    rotation_m, _ = flip_pose_horizontal(quaternion_to_matrix(quat), t, reflection)
    s = np.diag([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(rotation_m.numpy(), s @ rodrigues(axis, angle) @ reflection.numpy(),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rotation_m.numpy()), 1.0, atol=1e-12)


@pytest.mark.parametrize('shape', BATCH_SHAPES)
def test_quaternion_multiply_composes_rotations(shape):
    rng = np.random.default_rng(4)
    a = torch.from_numpy(axis_angle_quaternion(*random_axis_angle(shape, rng)))
    b = torch.from_numpy(axis_angle_quaternion(*random_axis_angle(shape, rng)))
    np.testing.assert_allclose(quaternion_to_matrix(quaternion_multiply(a, b)).numpy(),
                               (quaternion_to_matrix(a) @ quaternion_to_matrix(b)).numpy(),
                               atol=1e-12)
    # Broadcasting: one quaternion against a batch.
    identity = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    np.testing.assert_allclose(quaternion_multiply(identity, b).numpy(), b.numpy(), atol=0)


@pytest.mark.parametrize('shape', BATCH_SHAPES)
def test_axis_angle_matches_rodrigues(shape):
    axis, angle = random_axis_angle(shape, np.random.default_rng(5))
    rotvec = torch.from_numpy(axis * angle[..., None])
    np.testing.assert_allclose(axis_angle_to_matrix(rotvec).numpy(), rodrigues(axis, angle),
                               atol=1e-12)
    np.testing.assert_allclose(axis_angle_to_quaternion(rotvec).numpy(),
                               axis_angle_quaternion(axis, angle), atol=1e-12)


def test_axis_angle_at_zero_is_identity_with_finite_gradient():
    rotvec = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    quat = axis_angle_to_quaternion(rotvec)
    np.testing.assert_array_equal(quat.detach().numpy(), [0, 0, 0, 1])
    quat[:3].sum().backward()
    # d(sin(θ/2)·axis)/d(rotvec) is I/2 at zero.
    np.testing.assert_allclose(rotvec.grad.numpy(), [0.5, 0.5, 0.5], atol=1e-12)


def test_align_quaternion_signs_makes_neighbours_agree():
    angles = torch.arange(40, dtype=torch.float64) * math.radians(12)
    quats = canonical_quaternion(axis_angle_to_quaternion(
        angles[:, None] * torch.tensor([0.6, 0.0, 0.8], dtype=torch.float64)))
    assert ((quats[1:] * quats[:-1]).sum(-1) < 0).any()  # the canonical form jumps
    aligned = align_quaternion_signs(quats)
    assert ((aligned[1:] * aligned[:-1]).sum(-1) > 0).all()
    torch.testing.assert_close(aligned.abs(), quats.abs())
    torch.testing.assert_close(aligned[0], quats[0])


def test_mean_quaternion_is_halfway_and_sign_invariant():
    axis = np.array([0.2, 1.0, 0.3]) / np.linalg.norm([0.2, 1.0, 0.3])
    pair = torch.from_numpy(axis_angle_quaternion(np.stack([axis, axis]),
                                                  np.radians([10.0, 30.0])))
    pair = pair * torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    expected = torch.from_numpy(axis_angle_quaternion(axis, np.radians(20.0)))
    np.testing.assert_allclose(mean_quaternion(pair).numpy(), expected.numpy(), atol=1e-12)


def test_chordal_mean_of_symmetric_spread_is_the_centre():
    centre = axis_angle_to_matrix(torch.tensor([0.3, -1.2, 0.5], dtype=torch.float64))
    offsets = axis_angle_to_matrix(torch.tensor(
        [[0.4, 0, 0], [-0.4, 0, 0], [0, 0.7, 0], [0, -0.7, 0]], dtype=torch.float64))
    mean = chordal_mean_rotation(centre @ offsets)
    np.testing.assert_allclose(mean.numpy(), centre.numpy(), atol=1e-12)
    assert torch.linalg.det(mean) == pytest.approx(1.0)


def test_symmetric_geodesic_distances_measure_each_copy():
    turn = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi], dtype=torch.float64))
    symmetries = torch.stack((torch.eye(3, dtype=torch.float64), turn))
    target = axis_angle_to_matrix(torch.tensor([[0.2, 0.1, -0.4]], dtype=torch.float64))
    small = axis_angle_to_matrix(torch.tensor([0.0, 0.05, 0.0], dtype=torch.float64))
    pred = target @ turn @ small  # 0.05 rad from the turned copy
    distances = symmetric_geodesic_distances(pred, target, symmetries)
    assert distances.shape == (1, 2)
    assert distances[0, 1].item() == pytest.approx(0.05, abs=1e-6)
    assert distances[0, 0].item() > 3.0


def test_evaluation_margin_gives_exact_zero():
    quat = torch.tensor([0.1, -0.2, 0.3, 0.9], dtype=torch.float64)
    assert geodesic_distance_quaternion(quat, -quat, margin=0.0).item() == 0.0
    assert geodesic_distance_quaternion(quat, quat).item() > 0  # training clamp
