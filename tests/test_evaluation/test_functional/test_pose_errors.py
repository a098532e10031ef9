"""Pose error arithmetic and the mean-pose baseline, against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from sparkpose.evaluation.functional import (
    mean_pose,
    mean_pose_baseline,
    position_error,
    rotation_accuracy,
    rotation_error_deg,
    rotation_error_sym_deg,
    speed_scores,
    summarize_pose_errors,
)
from sparkpose.structures import matrix_to_quaternion, proba2_like, quaternion_to_matrix

# A rotation far from the identity and from every body axis, so that products with it
# exercise the quaternion algebra in general position.
GT_Q = np.array([0.3, -0.5, 0.2, 0.78]) / np.linalg.norm([0.3, -0.5, 0.2, 0.78])


def z_rotation(angle_deg):
    half = math.radians(angle_deg) / 2
    return [0.0, 0.0, math.sin(half), math.cos(half)]


def x_rotation(angle_deg):
    half = math.radians(angle_deg) / 2
    return [math.sin(half), 0.0, 0.0, math.cos(half)]


def compose(q_left, q_right):
    """Quaternion of R(q_left) · R(q_right), through matrices (independent of the code)."""
    matrices = quaternion_to_matrix(torch.tensor(np.array([q_left, q_right], np.float64)))
    return matrix_to_quaternion(matrices[0] @ matrices[1]).numpy()


def test_position_and_rotation_errors():
    assert position_error([3.0, 4.0, 1.0], [0.0, 0.0, 1.0]) == pytest.approx(5.0)
    np.testing.assert_allclose(rotation_error_deg([z_rotation(30), z_rotation(-60)],
                                                  [z_rotation(0), z_rotation(60)]),
                               [30.0, 120.0], atol=1e-9)
    q = np.array(z_rotation(17))
    assert rotation_error_deg(q, -q) == 0.0  # q and -q: same rotation, cos clamped to 1
    assert rotation_error_deg(2 * q, q) == 0.0  # non-unit input is normalised


def test_speed_scores_thresholds():
    gt_t = np.array([[0.0, 0.0, 10.0]] * 4)
    pred_t = gt_t + np.array([[0, 0, 0.0217], [0, 0, 0.0218], [0, 0, 0], [0, 0, 0]])
    gt_q = np.array([z_rotation(0)] * 4)
    pred_q = np.array([z_rotation(0), z_rotation(0), z_rotation(0.168), z_rotation(0.170)])
    scores = speed_scores(pred_t, pred_q, gt_t, gt_q)
    # 2.17e-3 and 2.18e-3 sit either side of the 2.173e-3 position threshold.
    np.testing.assert_allclose(scores['speed_pos'], [0.0, 2.18e-3, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(scores['speed_rot'], [0, 0, 0, math.radians(0.170)], atol=1e-9)
    np.testing.assert_allclose(scores['rot_err_deg'], [0, 0, 0.168, 0.170], atol=1e-9)
    np.testing.assert_allclose(scores['speed'], scores['speed_pos'] + scores['speed_rot'])


def test_summary_means_and_medians():
    summary = summarize_pose_errors(pred_t=[[0, 0, 5.0], [0, 0, 6.0], [0, 0, 8.0]],
                                    pred_q=[z_rotation(0), z_rotation(10), z_rotation(90)],
                                    gt_t=[[0, 0, 5.0]] * 3, gt_q=[z_rotation(0)] * 3)
    assert summary['pos_err_m_mean'] == pytest.approx(4 / 3)
    assert summary['pos_err_m_median'] == pytest.approx(1.0)
    assert summary['rot_err_deg_mean'] == pytest.approx(100 / 3)
    assert summary['rot_err_deg_median'] == pytest.approx(10.0)
    scores = np.array([0.0, 0.2 + math.radians(10), 0.6 + math.pi / 2])
    assert summary['speed_mean'] == pytest.approx(scores.mean())
    assert summary['speed_median'] == pytest.approx(scores[1])


def test_mean_pose_is_mean_translation_and_chordal_mean_rotation():
    t_mean, q_mean = mean_pose([[0, 0, 4.0], [0, 0, 6.0], [1, 0, 5.0]],
                               [z_rotation(0), z_rotation(60), z_rotation(30)])
    np.testing.assert_allclose(t_mean, [1 / 3, 0, 5.0])
    np.testing.assert_allclose(q_mean, z_rotation(30), atol=1e-12)
    # Five random rotations: the chordal mean maximises tr(R^T ΣR_i).
    rng = np.random.default_rng(0)
    quats = rng.normal(size=(5, 4))
    _, q_mean = mean_pose(np.zeros((5, 3)), quats)
    total = quaternion_to_matrix(torch.as_tensor(quats / np.linalg.norm(quats, axis=1)[:, None]))
    total = total.sum(0).numpy()
    best = np.trace(quaternion_to_matrix(torch.as_tensor(q_mean)).numpy().T @ total)
    for other in rng.normal(size=(200, 4)):
        rotation = quaternion_to_matrix(torch.as_tensor(other)).numpy()
        assert np.trace(rotation.T @ total) <= best + 1e-12


def test_mean_pose_baseline():
    summary = mean_pose_baseline(train_t=[[0, 0, 4.0], [0, 0, 6.0]],
                                 train_q=[z_rotation(-20), z_rotation(20)],
                                 eval_t=[[0, 0, 5.0], [0, 0, 10.0]],
                                 eval_q=[z_rotation(0), z_rotation(90)])
    assert summary['pos_err_m_mean'] == pytest.approx(2.5)
    assert summary['rot_err_deg_mean'] == pytest.approx(45.0)
    assert summary['speed_mean'] == pytest.approx((0.5 + math.pi / 2) / 2)


def test_rotation_error_modulo_symmetry():
    symmetries = proba2_like().symmetries  # identity and the 180° turns about x, y, z
    flipped = compose(GT_Q, x_rotation(180))  # gt · Rx(180°): a body symmetry
    turned = compose(GT_Q, z_rotation(20))  # gt · Rz(20°): a real error
    beyond = compose(GT_Q, x_rotation(150))  # 30° short of the x flip
    pred, gt = np.stack([flipped, turned, beyond]), np.stack([GT_Q] * 3)
    np.testing.assert_allclose(rotation_error_deg(pred, gt), [180.0, 20.0, 150.0], atol=1e-6)
    np.testing.assert_allclose(rotation_error_sym_deg(pred, gt, symmetries), [0.0, 20.0, 30.0],
                               atol=1e-6)
    # Only the identity: the plain error, bit for bit.
    np.testing.assert_array_equal(rotation_error_sym_deg(pred, gt, np.eye(3)[None]),
                                  rotation_error_deg(pred, gt))
    # Sign and scale of the quaternions do not matter; any leading shape works.
    assert rotation_error_sym_deg(-2 * flipped, GT_Q, symmetries) == pytest.approx(0, abs=1e-6)
    assert rotation_error_sym_deg(pred[None], gt[None], symmetries).shape == (1, 3)


def test_rotation_error_modulo_symmetry_rejects_bad_shape():
    with pytest.raises(ValueError, match=r'shape \(3, 3\); expected \(S, 3, 3\)'):
        rotation_error_sym_deg(GT_Q, GT_Q, np.eye(3))


def test_rotation_accuracy_fractions():
    errors = [0.0, 4.9, 5.0, 9.0, 10.5, 29.9, 30.0, 45.0, float('nan')]
    # Strictly under each level; NaN (a failed prediction) is a miss.
    assert rotation_accuracy(errors) == {5: pytest.approx(2 / 9), 10: pytest.approx(4 / 9),
                                         30: pytest.approx(6 / 9)}
    assert rotation_accuracy([1.0, 50.0], thresholds_deg=(2.5,)) == {2.5: 0.5}


def test_summary_with_symmetries_and_accuracies():
    pred_q = [compose(GT_Q, x_rotation(180)), compose(GT_Q, z_rotation(20))]
    args = dict(pred_t=[[0, 0, 5.0]] * 2, pred_q=pred_q, gt_t=[[0, 0, 5.0]] * 2,
                gt_q=[GT_Q] * 2)
    plain = summarize_pose_errors(**args)
    assert 'rot_err_sym_deg_mean' not in plain and 'rot_sym_acc_30' not in plain
    assert plain['rot_err_deg_mean'] == pytest.approx(100.0)
    # 180° and 20°: 20° counts under 30° but not under 10° or 5°.
    assert (plain['rot_acc_5'], plain['rot_acc_10'], plain['rot_acc_30']) == (0.0, 0.0, 0.5)

    summary = summarize_pose_errors(**args, symmetries=proba2_like().symmetries)
    assert {k: v for k, v in summary.items() if k in plain} == plain  # old keys unchanged
    assert summary['rot_err_sym_deg_mean'] == pytest.approx(10.0, abs=1e-6)
    assert summary['rot_err_sym_deg_median'] == pytest.approx(10.0, abs=1e-6)
    assert (summary['rot_sym_acc_5'], summary['rot_sym_acc_10'],
            summary['rot_sym_acc_30']) == (0.5, 0.5, 1.0)


def test_mean_pose_baseline_forwards_symmetries():
    summary = mean_pose_baseline(train_t=[[0, 0, 5.0]], train_q=[GT_Q], eval_t=[[0, 0, 5.0]],
                                 eval_q=[compose(GT_Q, x_rotation(180))],
                                 symmetries=proba2_like().symmetries)
    assert summary['rot_err_deg_mean'] == pytest.approx(180.0, abs=1e-6)
    assert summary['rot_err_sym_deg_mean'] == pytest.approx(0.0, abs=1e-6)
