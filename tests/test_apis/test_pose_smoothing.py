"""Temporal pose smoothing, checked against exact rotations."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sparkpose.apis import moving_average, smooth_pose_sequence, smooth_quaternions
from sparkpose.structures import geodesic_distance_quaternion


def axis_angle_quaternion(axis, angle):
    """``(N, 4)`` quaternions of rotations by ``angle`` (N,) rad about a fixed ``axis``."""
    axis = F.normalize(torch.as_tensor(axis, dtype=torch.float64), dim=0)
    half = torch.as_tensor(angle, dtype=torch.float64)[..., None] / 2
    return torch.cat((torch.sin(half) * axis, torch.cos(half)), dim=-1)


def quaternion_multiply(a, b):
    """Hamilton product of scalar-last quaternions (a ⊗ b: first b, then a)."""
    ax, ay, az, aw = a.unbind(-1)
    bx, by, bz, bw = b.unbind(-1)
    return torch.stack((aw * bx + ax * bw + ay * bz - az * by,
                        aw * by - ax * bz + ay * bw + az * bx,
                        aw * bz + ax * by - ay * bx + az * bw,
                        aw * bw - ax * bx - ay * by - az * bz), dim=-1)


def rotation_angle(a, b):
    """Angle (rad) between the rotations of unit quaternions, accurate down to 0.

    ``geodesic_distance_quaternion`` clamps its cosine, so it cannot go below ~1e-3 rad;
    the chord between sign-aligned quaternions is ``2·sin(angle / 4)``.
    """
    sign = torch.where((a * b).sum(-1, keepdim=True) < 0, -1.0, 1.0).to(a)
    return 4 * torch.asin((a - sign * b).norm(dim=-1).clamp(max=2) / 2)


def tumbling_sequence(num=60, rate_deg=6.0):
    """Constant-rate rotation about a fixed axis, starting from a generic attitude.

    6° per label at 10 Hz is 60°/s, and over 60 labels ``w`` changes sign, so canonical
    quaternions jump hemisphere inside the sequence.
    """
    start = F.normalize(torch.tensor([0.3, -0.5, 0.2, 0.6], dtype=torch.float64), dim=0)
    angles = torch.arange(num, dtype=torch.float64) * math.radians(rate_deg)
    quats = quaternion_multiply(axis_angle_quaternion([1.0, 2.0, -0.5], angles), start)
    return torch.where(quats[:, 3:] < 0, -quats, quats)


def noisy(quats, sigma_deg, seed):
    generator = torch.Generator().manual_seed(seed)
    axes = torch.randn(quats.shape[0], 3, generator=generator, dtype=torch.float64)
    angles = torch.randn(quats.shape[0], generator=generator, dtype=torch.float64)
    noise = torch.stack([axis_angle_quaternion(a, math.radians(sigma_deg) * g)
                         for a, g in zip(axes, angles)])
    return quaternion_multiply(noise, quats)


def test_moving_average_numbers_and_linear_trajectory():
    result = moving_average(torch.tensor([0.0, 1.0, 4.0, 9.0, 16.0]), 3)
    torch.testing.assert_close(result, torch.tensor([0.0, 5 / 3, 14 / 3, 29 / 3, 16.0]))
    # window 5: the centre sample averages all five; its neighbours shrink to 3.
    torch.testing.assert_close(moving_average(torch.tensor([0.0, 1.0, 4.0, 9.0, 16.0]), 5),
                               torch.tensor([0.0, 5 / 3, 6.0, 29 / 3, 16.0]))
    times = np.arange(40) * 0.1
    linear = np.c_[0.3 - 0.05 * times, 0.1 + 0.02 * times, 8.0 - 0.4 * times]
    smoothed = moving_average(linear, 7)  # numpy in, tensor of the same dtype out
    assert smoothed.dtype == torch.float64
    torch.testing.assert_close(smoothed, torch.from_numpy(linear), atol=1e-12, rtol=0)


@pytest.mark.parametrize('window', [0, 4, -3, 2.5])
def test_window_must_be_positive_and_odd(window):
    with pytest.raises(ValueError, match=f'positive odd integer.*got {window}'):
        moving_average(torch.zeros(5, 3), window)


def test_constant_sequences_are_unchanged():
    translation = torch.tensor([0.4, -0.2, 7.5])
    quat = F.normalize(torch.tensor([0.1, -0.7, 0.3, 0.2]), dim=0)
    signs = torch.tensor([1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0])[:, None]
    t, q = smooth_pose_sequence(translation.repeat(8, 1), quat * signs, window=5)
    assert t.dtype == torch.float32 and q.dtype == torch.float32
    torch.testing.assert_close(t, translation.repeat(8, 1))
    torch.testing.assert_close(q, quat.repeat(8, 1))


def test_constant_rate_rotation_is_unchanged():
    truth = tumbling_sequence()
    for window in (3, 5, 9):
        smoothed = smooth_quaternions(truth, window)
        error = rotation_angle(smoothed, truth)
        assert error.max() < 1e-6, window
        assert (smoothed[:, 3] >= 0).all()
        torch.testing.assert_close(smoothed.norm(dim=-1), torch.ones(len(truth),
                                                                    dtype=torch.float64))


def test_smoothing_reduces_rotation_noise_and_ignores_signs():
    truth = tumbling_sequence()
    measured = noisy(truth, sigma_deg=2.0, seed=0)
    smoothed = smooth_quaternions(measured, 5)
    before = geodesic_distance_quaternion(measured, truth)[2:-2].mean()
    after = geodesic_distance_quaternion(smoothed, truth)[2:-2].mean()
    # Five independent errors: the mean error falls by about sqrt(5) ≈ 2.2.
    assert after < 0.6 * before, (math.degrees(before), math.degrees(after))
    signs = torch.where(torch.rand(len(truth), generator=torch.Generator().manual_seed(3))
                        < 0.5, -1.0, 1.0).to(truth)
    torch.testing.assert_close(smooth_quaternions(measured * signs[:, None], 5), smoothed)


def test_smooth_pose_sequence_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r'\(10, 3\) and \(9, 4\)'):
        smooth_pose_sequence(torch.zeros(10, 3), torch.ones(9, 4))
