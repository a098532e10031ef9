"""Pose error arithmetic of the SPEED / SPEED+ challenges, in float64 numpy.

Inputs are array-likes (numpy arrays, CPU tensors, lists) with any leading batch shape:
translations ``(..., 3)`` in metres, quaternions ``(..., 4)`` scalar-last (x, y, z, w).
"""
import numpy as np
from numpy.typing import ArrayLike

# SPEED+ thresholds: errors below the ground truth's own precision count as zero.
POSITION_THRESHOLD = 2.173e-3  # normalised position error ‖t̂ − t‖ / ‖t‖
ROTATION_THRESHOLD_DEG = 0.169


def position_error(pred_t: ArrayLike, gt_t: ArrayLike) -> np.ndarray:
    """``‖t̂ − t‖`` in metres, shape ``(...)``."""
    return np.linalg.norm(np.asarray(pred_t, np.float64) - np.asarray(gt_t, np.float64), axis=-1)


def rotation_error_deg(pred_q: ArrayLike, gt_q: ArrayLike) -> np.ndarray:
    """``2·acos(|<q̂, q>|)`` in degrees, shape ``(...)``; sign-invariant (q ≡ −q).

    Both quaternions are normalised first and the cosine is clamped to ``[0, 1]``, so
    rounding cannot push ``acos`` out of its domain.
    """
    pred_q, gt_q = np.asarray(pred_q, np.float64), np.asarray(gt_q, np.float64)
    pred_q = pred_q / np.linalg.norm(pred_q, axis=-1, keepdims=True)
    gt_q = gt_q / np.linalg.norm(gt_q, axis=-1, keepdims=True)
    dot = np.clip(np.abs((pred_q * gt_q).sum(-1)), 0.0, 1.0)
    return np.degrees(2 * np.arccos(dot))


def speed_scores(pred_t: ArrayLike, pred_q: ArrayLike, gt_t: ArrayLike, gt_q: ArrayLike,
                 position_threshold: float = POSITION_THRESHOLD,
                 rotation_threshold_deg: float = ROTATION_THRESHOLD_DEG
                 ) -> dict[str, np.ndarray]:
    """Per-sample errors and SPEED+ scores.

    Args:
        pred_t, gt_t: ``(..., 3)`` translations (m).
        pred_q, gt_q: ``(..., 4)`` quaternions (x, y, z, w).
        position_threshold: Normalised position errors below this count 0.
        rotation_threshold_deg: Rotation errors below this (degrees) count 0.

    Returns:
        ``pos_err_m`` (m), ``rot_err_deg`` (°), ``speed_pos`` (``‖t̂ − t‖/‖t‖``,
        thresholded), ``speed_rot`` (rad, thresholded) and ``speed`` = their sum; each
        ``(...)``.
    """
    pos_err = position_error(pred_t, gt_t)
    rot_err_deg = rotation_error_deg(pred_q, gt_q)
    speed_pos = pos_err / np.linalg.norm(np.asarray(gt_t, np.float64), axis=-1)
    speed_pos = np.where(speed_pos < position_threshold, 0.0, speed_pos)
    speed_rot = np.where(rot_err_deg < rotation_threshold_deg, 0.0, np.radians(rot_err_deg))
    return dict(pos_err_m=pos_err, rot_err_deg=rot_err_deg, speed_pos=speed_pos,
                speed_rot=speed_rot, speed=speed_pos + speed_rot)


def summarize_pose_errors(pred_t: ArrayLike, pred_q: ArrayLike, gt_t: ArrayLike,
                          gt_q: ArrayLike, **thresholds: float) -> dict[str, float]:
    """Mean and median of every figure of ``speed_scores`` over all samples.

    Returns:
        ``{name}_mean`` and ``{name}_median`` for ``pos_err_m``, ``rot_err_deg``,
        ``speed_pos``, ``speed_rot`` and ``speed``.
    """
    summary = {}
    for name, values in speed_scores(pred_t, pred_q, gt_t, gt_q, **thresholds).items():
        values = values.reshape(-1)
        summary[f'{name}_mean'] = float(values.mean())
        summary[f'{name}_median'] = float(np.median(values))
    return summary
