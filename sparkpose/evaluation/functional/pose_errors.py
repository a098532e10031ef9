"""Pose error arithmetic of the SPEED / SPEED+ challenges, in float64 numpy.

Inputs are array-likes (numpy arrays, CPU tensors, lists) with any leading batch shape:
translations ``(..., 3)`` in metres, quaternions ``(..., 4)`` scalar-last (x, y, z, w).
"""
import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from sparkpose.structures import (
    geodesic_distance_quaternion,
    matrix_to_quaternion,
    quaternion_multiply,
)

# SPEED+ thresholds: errors below the ground truth's own precision count as zero.
POSITION_THRESHOLD = 2.173e-3  # normalised position error ‖t̂ − t‖ / ‖t‖
ROTATION_THRESHOLD_DEG = 0.169
# Rotation accuracy levels (°): a mean error hides whether a model is roughly right on most
# windows or wildly wrong on some; the fractions under these levels tell them apart.
ROTATION_ACCURACY_THRESHOLDS_DEG = (5, 10, 30)


def position_error(pred_t: ArrayLike, gt_t: ArrayLike) -> np.ndarray:
    """``‖t̂ − t‖`` in metres, shape ``(...)``."""
    return np.linalg.norm(np.asarray(pred_t, np.float64) - np.asarray(gt_t, np.float64), axis=-1)


def _float64_tensor(values: ArrayLike) -> torch.Tensor:
    return torch.tensor(np.asarray(values, np.float64))


def rotation_error_deg(pred_q: ArrayLike, gt_q: ArrayLike) -> np.ndarray:
    """``2·acos(|<q̂, q>|)`` in degrees, shape ``(...)``; sign-invariant (q ≡ −q).

    Both quaternions are normalised first and the cosine is clamped to ``[0, 1]``, so
    rounding cannot push ``acos`` out of its domain, and equal rotations score exactly 0.
    """
    angle = geodesic_distance_quaternion(_float64_tensor(pred_q), _float64_tensor(gt_q),
                                         margin=0.0)
    return np.degrees(angle.numpy())


def rotation_error_sym_deg(pred_q: ArrayLike, gt_q: ArrayLike,
                           symmetries: ArrayLike) -> np.ndarray:
    """Rotation error modulo body symmetries: ``min_k angle(R̂, R · S_k)`` in degrees.

    A body that looks the same under ``R`` and ``R · S_k`` cannot tell these poses apart
    from its image; this error counts such a confusion as no error, so the gap to
    :func:`rotation_error_deg` shows how much of the error is symmetry flips.

    Args:
        pred_q, gt_q: ``(..., 4)`` quaternions (x, y, z, w); need not be unit norm.
        symmetries: ``(S, 3, 3)`` body-frame rotations (e.g. ``BodyModel.symmetries``).
            With the identity among them the result never exceeds the plain error.

    Returns:
        ``(...)`` errors in degrees, float64.
    """
    symmetries = np.asarray(symmetries, np.float64)
    if symmetries.ndim != 3 or symmetries.shape[1:] != (3, 3) or not len(symmetries):
        raise ValueError(f'symmetries have shape {symmetries.shape}; expected (S, 3, 3) '
                         f'rotation matrices with S >= 1')
    # Quaternions of the S_k (the identity maps to exactly (0, 0, 0, 1), so that term equals
    # the plain error bit for bit); then q of R · S_k is q ⊗ s_k.
    sym_q = matrix_to_quaternion(torch.from_numpy(symmetries.copy()))
    pred_q = F.normalize(_float64_tensor(pred_q), dim=-1)
    copies = quaternion_multiply(F.normalize(_float64_tensor(gt_q), dim=-1)[..., None, :], sym_q)
    angles = geodesic_distance_quaternion(pred_q[..., None, :], copies, margin=0.0)
    return np.degrees(angles.amin(-1).numpy())


def rotation_accuracy(errors_deg: ArrayLike,
                      thresholds_deg: tuple[float, ...] = ROTATION_ACCURACY_THRESHOLDS_DEG
                      ) -> dict[float, float]:
    """Fraction of samples whose rotation error is strictly under each threshold.

    Args:
        errors_deg: Rotation errors (°), any shape; NaN counts as a miss.
        thresholds_deg: The levels (°).

    Returns:
        ``{threshold: fraction in [0, 1]}``; NaN for an empty input.
    """
    errors = np.asarray(errors_deg, np.float64).reshape(-1)
    if not errors.size:
        return {threshold: float('nan') for threshold in thresholds_deg}
    return {threshold: float((errors < threshold).mean()) for threshold in thresholds_deg}


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
                          gt_q: ArrayLike, *, symmetries: ArrayLike | None = None,
                          **thresholds: float) -> dict[str, float]:
    """Mean and median of every figure of ``speed_scores`` over all samples, plus accuracies.

    Args:
        pred_t, pred_q, gt_t, gt_q: As in :func:`speed_scores`.
        symmetries: ``(S, 3, 3)`` body symmetries, or None: the errors modulo symmetry are
            then not reported.
        **thresholds: ``position_threshold`` / ``rotation_threshold_deg`` overrides.

    Returns:
        ``{name}_mean`` and ``{name}_median`` for ``pos_err_m``, ``rot_err_deg``,
        ``speed_pos``, ``speed_rot`` and ``speed``; ``rot_acc_{5,10,30}`` (fraction of
        plain rotation errors under 5°, 10°, 30°); with ``symmetries`` also
        ``rot_err_sym_deg_{mean,median}`` and ``rot_sym_acc_{5,10,30}``.
    """
    return summarize_error_arrays(pose_error_arrays(pred_t, pred_q, gt_t, gt_q,
                                                    symmetries=symmetries, **thresholds))


def pose_error_arrays(pred_t: ArrayLike, pred_q: ArrayLike, gt_t: ArrayLike,
                      gt_q: ArrayLike, *, symmetries: ArrayLike | None = None,
                      **thresholds: float) -> dict[str, np.ndarray]:
    """Per-sample figures, computed once for the summary and any per-sequence table:
    :func:`speed_scores`' arrays, plus ``rot_err_sym_deg`` with ``symmetries``."""
    arrays = {name: values.reshape(-1) for name, values in
              speed_scores(pred_t, pred_q, gt_t, gt_q, **thresholds).items()}
    if symmetries is not None:
        arrays['rot_err_sym_deg'] = rotation_error_sym_deg(pred_q, gt_q, symmetries).reshape(-1)
    return arrays


def summarize_error_arrays(arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """The summary of :func:`summarize_pose_errors` from :func:`pose_error_arrays`."""
    summary = {}
    for name, values in arrays.items():
        if name != 'rot_err_sym_deg':
            summary[f'{name}_mean'] = float(values.mean())
            summary[f'{name}_median'] = float(np.median(values))
    if 'rot_err_sym_deg' in arrays:
        summary['rot_err_sym_deg_mean'] = float(arrays['rot_err_sym_deg'].mean())
        summary['rot_err_sym_deg_median'] = float(np.median(arrays['rot_err_sym_deg']))
    for threshold, fraction in rotation_accuracy(arrays['rot_err_deg']).items():
        summary[f'rot_acc_{threshold:g}'] = fraction
    if 'rot_err_sym_deg' in arrays:
        for threshold, fraction in rotation_accuracy(arrays['rot_err_sym_deg']).items():
            summary[f'rot_sym_acc_{threshold:g}'] = fraction
    return summary
