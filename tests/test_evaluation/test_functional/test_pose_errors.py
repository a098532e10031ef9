"""Pose error arithmetic and the mean-pose baseline, against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from sparkpose.evaluation.functional import (
    mean_pose,
    mean_pose_baseline,
    position_error,
    rotation_error_deg,
    speed_scores,
    summarize_pose_errors,
)
from sparkpose.structures import quaternion_to_matrix


def z_rotation(angle_deg):
    half = math.radians(angle_deg) / 2
    return [0.0, 0.0, math.sin(half), math.cos(half)]


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
