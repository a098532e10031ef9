"""The mean-pose baseline: what a model that ignores its input would score."""
import numpy as np
import torch
from numpy.typing import ArrayLike

from sparkpose.structures import (
    chordal_mean_rotation,
    matrix_to_quaternion,
    quaternion_to_matrix,
)

from .pose_errors import summarize_pose_errors


def mean_pose(gt_t: ArrayLike, gt_q: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean translation and chordal-mean rotation of a set of poses.

    The chordal L2 mean is the rotation closest in Frobenius norm to the average matrix
    (its SVD projection onto SO(3)); it minimises ``Σ‖R − R_i‖²_F``.

    Args:
        gt_t: ``(N, 3)`` translations (m).
        gt_q: ``(N, 4)`` quaternions (x, y, z, w).

    Returns:
        ``(3,)`` mean translation (m) and ``(4,)`` canonical quaternion, float64.
    """
    gt_t = np.asarray(gt_t, np.float64).reshape(-1, 3)
    matrices = quaternion_to_matrix(torch.as_tensor(np.asarray(gt_q, np.float64).reshape(-1, 4)))
    rotation = chordal_mean_rotation(matrices)
    return gt_t.mean(0), matrix_to_quaternion(rotation).numpy()


def mean_pose_baseline(train_t: ArrayLike, train_q: ArrayLike, eval_t: ArrayLike,
                       eval_q: ArrayLike, **thresholds: float) -> dict[str, float]:
    """Errors on ``eval`` poses of always predicting the mean pose of ``train`` poses.

    Args:
        train_t, train_q: ``(N, 3)`` / ``(N, 4)`` training poses (m, x-y-z-w).
        eval_t, eval_q: ``(M, 3)`` / ``(M, 4)`` evaluation poses.
        **thresholds: ``position_threshold`` / ``rotation_threshold_deg`` overrides.

    Returns:
        The ``summarize_pose_errors`` dict (same keys as ``PoseMetric``).
    """
    t_mean, q_mean = mean_pose(train_t, train_q)
    eval_t = np.asarray(eval_t, np.float64).reshape(-1, 3)
    eval_q = np.asarray(eval_q, np.float64).reshape(-1, 4)
    return summarize_pose_errors(np.broadcast_to(t_mean, eval_t.shape),
                                 np.broadcast_to(q_mean, eval_q.shape), eval_t, eval_q,
                                 **thresholds)
