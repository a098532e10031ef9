"""Flip test-time augmentation: predict on the mirrored input too and merge the two poses.

The estimator runs it when its ``test_cfg`` has ``flip_test=True``, so ``tools/test.py``
evaluates it like any other setting (``--cfg-options model.test_cfg.flip_test=True``).
"""
from collections.abc import Sequence

import numpy as np
import torch

from sparkpose.structures import (
    PoseDataSample,
    flip_pose_horizontal,
    matrix_to_quaternion,
    mean_quaternion,
    quaternion_to_matrix,
)


def mirror_data_samples(data_samples: Sequence[PoseDataSample]) -> list[PoseDataSample]:
    """Copies of ``data_samples`` whose intrinsics describe the left-right mirrored input.

    Mirroring an input of width ``W`` maps ``u → W − u`` (pixel ``x`` covers
    ``[x, x+1)``), which is the image of the mirrored scene ``(−X, Y, Z)`` through a camera
    with ``cx' = W − cx``; so geometry-aware heads (keypoints + PnP, crop codecs) stay exact.
    Samples without ``cam_K`` / ``input_size`` are copied unchanged.
    """
    mirrored = []
    for sample in data_samples:
        copy = sample.clone()
        if 'cam_K' in sample and 'input_size' in sample:
            cam_K = np.array(sample.cam_K, np.float64)
            cam_K[0, 2] = float(sample.input_size[0]) - cam_K[0, 2]
            copy.set_metainfo(dict(cam_K=cam_K))
        mirrored.append(copy)
    return mirrored


def merge_flip_tta(translation: torch.Tensor, quaternion: torch.Tensor,
                   flipped_translation: torch.Tensor, flipped_quaternion: torch.Tensor,
                   body_reflection: torch.Tensor | Sequence[Sequence[float]] | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge the pose predicted on an input with the one predicted on its mirror image.

    The mirrored input shows the pose ``(S·R·M, S·t)`` (:func:`flip_pose_horizontal`);
    it is mapped back with ``M⁻¹ = Mᵀ``, then translations are averaged and rotations
    combined with :func:`mean_quaternion`. Exact only for a body symmetric under ``M``
    (the mirrored input shows a mirrored body), so use it for such bodies or for models
    trained with the same flip (``RandomHorizontalFlip.body_reflection``).

    Args:
        translation: ``(..., 3)`` pose predicted on the original input (m).
        quaternion: ``(..., 4)`` its rotation (x, y, z, w).
        flipped_translation: ``(..., 3)`` pose predicted on the mirrored input (m).
        flipped_quaternion: ``(..., 4)`` its rotation.
        body_reflection: ``(3, 3)`` reflection ``M`` in body coordinates (orthogonal,
            determinant −1); ``None`` means ``S = diag(-1, 1, 1)``.

    Returns:
        ``(..., 3)`` merged translations (m) and ``(..., 4)`` unit quaternions, ``w >= 0``,
        float64 arithmetic, returned in the dtype of ``translation``.
    """
    dtype = translation.dtype
    translation, flipped_translation, quaternion, flipped_quaternion = (
        torch.as_tensor(v).to(torch.float64)
        for v in (translation, flipped_translation, quaternion, flipped_quaternion))
    inverse = None
    if body_reflection is not None:
        inverse = torch.as_tensor(body_reflection, dtype=torch.float64).T
    rotation, unflipped_t = flip_pose_horizontal(quaternion_to_matrix(flipped_quaternion),
                                                 flipped_translation, inverse)
    quats = torch.stack((quaternion, matrix_to_quaternion(rotation)))
    return ((translation + unflipped_t) / 2).to(dtype), mean_quaternion(quats).to(dtype)
