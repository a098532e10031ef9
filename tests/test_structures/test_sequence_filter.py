"""filter_pose_sequence: symmetric copies tracked, outliers and gaps filled, causal."""
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from sparkpose.structures import (
    axis_angle_to_quaternion,
    filter_pose_sequence,
    quaternion_to_axis_angle,
)
from sparkpose.structures.sequence_filter import choose_hypotheses

FLIP = np.diag([-1.0, -1.0, 1.0])  # a 180° near-symmetry about the body z axis
SYMMETRIES = np.stack([np.eye(3), FLIP])


def _tumbling(n=30, rate=0.1):
    """A constant-rate tumble (rate rad per window) and a slow approach."""
    rotations = (Rotation.from_rotvec(np.outer(np.arange(n) * rate, [0.3, 0.4, 0.866]))
                 * Rotation.from_rotvec([0.3, 0.2, 0.1]))
    t = np.c_[np.full(n, 0.2), np.zeros(n), np.linspace(5, 6, n)]
    return rotations, t


def _errors_deg(q, rotations):
    return np.degrees((Rotation.from_quat(q).inv() * rotations).magnitude())


def test_log_map_inverts_the_exponential():
    rotvec = torch.tensor([[0.0, 0, 0], [0.1, -0.2, 0.3], [0, 3.0, 0]], dtype=torch.float64)
    back = quaternion_to_axis_angle(axis_angle_to_quaternion(rotvec))
    torch.testing.assert_close(back, rotvec)
    torch.testing.assert_close(quaternion_to_axis_angle(-axis_angle_to_quaternion(rotvec)),
                               rotvec)


def _damaged(rotations, t):
    """A symmetric copy at 5, an outlier at 15, no estimate at 20."""
    q, t = rotations.as_quat(), t.copy()
    confidence = np.ones(len(q))
    q[5] = (rotations[5] * Rotation.from_matrix(FLIP)).as_quat()
    q[15] = Rotation.from_rotvec([2.0, -1.0, 0.5]).as_quat()
    q[20], t[20], confidence[20] = [0, 0, 0, 1], [0, 0, 1], 0.0
    assert _errors_deg(q, rotations)[[5, 15, 20]].min() > 90
    return t, q, confidence


def test_flip_outlier_and_gap_are_repaired_offline():
    rotations, t = _tumbling()
    t_out, q_out = filter_pose_sequence(*_damaged(rotations, t), SYMMETRIES)
    assert _errors_deg(q_out, rotations).max() < 1.0
    np.testing.assert_allclose(t_out, t, atol=0.02)
    np.testing.assert_allclose(np.linalg.norm(q_out, axis=1), 1.0, atol=1e-12)
    assert (q_out[:, 3] >= 0).all()


def test_causal_mode_turns_the_copy_and_holds_the_last_kept_pose():
    rotations, t = _tumbling()
    t_out, q_out = filter_pose_sequence(*_damaged(rotations, t), SYMMETRIES, causal=True)
    errors = _errors_deg(q_out, rotations)
    assert errors[5] < 1e-6
    step = _errors_deg(rotations[14].as_quat()[None], rotations[15])  # one window's motion
    np.testing.assert_allclose(errors[[15, 20]], step[0], atol=1e-6)
    np.testing.assert_allclose(t_out[[15, 20]], t[[14, 19]])


def test_a_run_of_wrong_windows_is_passed_over():
    """Three consecutive wrong windows that agree with each other: the path leaves them
    out (each costs ``skip_cost``) rather than follow them, and the fit fills them."""
    rotations, t = _tumbling()
    q = rotations.as_quat()
    q[10:13] = (Rotation.from_rotvec([1.5, 0.0, 0.0]) * rotations[10:13]).as_quat()
    t_out, q_out = filter_pose_sequence(t, q, np.ones(len(q)), SYMMETRIES)
    assert _errors_deg(q_out, rotations)[10:13].max() < 1.0
    kept = {max_skip: choose_hypotheses(torch.as_tensor(q), torch.ones(len(q)),
                                        torch.as_tensor(SYMMETRIES), False, np.radians(15.0),
                                        16.0, 1.0, 6.0, max_skip)[1]
            for max_skip in (2, 3)}
    np.testing.assert_array_equal(np.flatnonzero(~kept[3].numpy()), [10, 11, 12])
    assert kept[2][10:13].any()  # three in a row cannot be left out: the path goes through


def test_constant_rate_motion_is_reproduced():
    """A local-linear fit on SO(3) keeps a constant-rate tumble (a moving average of
    quaternions would cut it), ends included."""
    rotations, t = _tumbling(rate=0.2)
    t_out, q_out = filter_pose_sequence(t, rotations.as_quat(), np.ones(len(t)), SYMMETRIES)
    assert _errors_deg(q_out, rotations).max() < 1e-6
    np.testing.assert_allclose(t_out, t, atol=1e-9)


def test_causal_mode_ignores_the_future():
    rotations, t = _tumbling()
    q = rotations.as_quat()
    changed = q.copy()
    changed[20:] = Rotation.random(10, random_state=0).as_quat()
    confidence = np.ones(len(q))
    first = filter_pose_sequence(t, q, confidence, SYMMETRIES, causal=True)[1]
    second = filter_pose_sequence(t, changed, confidence, SYMMETRIES, causal=True)[1]
    np.testing.assert_allclose(first[:20], second[:20], atol=1e-12)
    offline = filter_pose_sequence(t, changed, confidence, SYMMETRIES)[1]
    assert np.abs(offline[:20] - first[:20]).max() > 1e-6


def test_without_tracking_and_smoothing_the_poses_pass_through():
    rotations, t = _tumbling()
    q = rotations.as_quat()
    t_out, q_out = filter_pose_sequence(t, q, np.ones(len(t)), SYMMETRIES, track=False,
                                        smooth=False)
    np.testing.assert_allclose(np.abs((q_out * q).sum(1)), 1.0, atol=1e-12)
    np.testing.assert_array_equal(t_out, t)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match=r'\(N, 3\) t, \(N, 4\) q and \(N,\) confidence'):
        filter_pose_sequence(np.zeros((3, 3)), np.zeros((3, 4)), np.ones(2))
