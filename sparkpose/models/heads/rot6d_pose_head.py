"""Pose head regressing the continuous 6-D rotation representation."""
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sparkpose.registry import MODELS
from sparkpose.structures import (
    PoseDataSample,
    matrix_to_quaternion,
    quaternion_to_matrix,
    rotation_6d_to_matrix,
    symmetric_geodesic_distances,
)

from ..losses import load_symmetries
from .base_pose_head import BasePoseHead

_CLASSIFIER_KEYS = ('body_model', 'symmetries', 'loss_weight')


@MODELS.register_module()
class Rot6DPoseHead(BasePoseHead):
    """Translation + 6-D rotation (Zhou et al., CVPR 2019), the recommended head.

    The six outputs are mapped to a rotation matrix by Gram–Schmidt; the loss compares
    matrices (``GeodesicRotationLoss`` by default), and ``predict`` converts the matrix to a
    canonical quaternion.

    With ``symmetry_classifier``, a body whose near-symmetries ``S_k`` make ``R`` and
    ``R·S_k`` look alike is handled in two parts: the rotation branch only has to reach
    *some* copy (default loss ``SymmetricGeodesicLoss`` with the same set), and a linear
    branch (``symmetry_logits``, ``S`` classes, zero-initialised so it starts at the
    identity) learns which copy it reached, from the small asymmetries. Its target is
    ``k* = argmin_k d(R̂, R_gt·S_k)`` (no gradient to the rotation) under cross-entropy
    (``loss_symmetry``); decoding returns ``R̂·S_k̂^T`` with ``k̂ = argmax`` logits, which is
    ``R_gt`` when ``R̂ ≈ R_gt·S_k*`` and ``k̂ = k*``.

    Args:
        symmetry_classifier: ``dict(body_model=PATH or symmetries=[3x3, ...],
            loss_weight=1.0)``; ``None`` (default): no classifier, the plain head.
        **kwargs: ``BasePoseHead`` arguments (``loss_rotation`` defaults to
            ``SymmetricGeodesicLoss`` over the classifier's set when the classifier is on).
    """

    rotation_dim = 6
    identity_rotation = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    default_loss_rotation = dict(type='GeodesicRotationLoss')

    def __init__(self, in_channels: int, hidden_dim: int = 256, dropout: float = 0.1,
                 codec: dict | None = None, loss_translation: dict | None = None,
                 loss_rotation: dict | None = None, symmetry_classifier: dict | None = None,
                 init_cfg: dict | list | None = None) -> None:
        symmetries = None
        if symmetry_classifier is not None:
            unknown = sorted(set(symmetry_classifier) - set(_CLASSIFIER_KEYS))
            if unknown:
                raise ValueError(f'{type(self).__name__}: symmetry_classifier takes '
                                 f'{list(_CLASSIFIER_KEYS)}, got unknown keys {unknown}')
            if type(self).loss is not BasePoseHead.loss:
                # Such a head re-weights the loss terms by position (e.g. log-variances).
                raise ValueError(f'{type(self).__name__}: symmetry_classifier is supported by '
                                 f'Rot6DPoseHead only, this head re-weights its loss terms')
            symmetries = load_symmetries(symmetry_classifier.get('body_model'),
                                         symmetry_classifier.get('symmetries'),
                                         f'{type(self).__name__}.symmetry_classifier')
            if loss_rotation is None:
                loss_rotation = dict(type='SymmetricGeodesicLoss',
                                     symmetries=symmetries.tolist())
        super().__init__(in_channels, hidden_dim, dropout, codec, loss_translation,
                         loss_rotation, init_cfg)
        self.symmetry_loss_weight = 1.0
        self.fc_symmetry = None
        if symmetries is not None:
            self.symmetry_loss_weight = float(symmetry_classifier.get('loss_weight', 1.0))
            # Not persistent: the set comes from the config (state dicts only gain fc_symmetry).
            self.register_buffer('symmetries', symmetries, persistent=False)
            self.fc_symmetry = nn.Linear(hidden_dim, len(symmetries))
            nn.init.zeros_(self.fc_symmetry.weight)
            nn.init.zeros_(self.fc_symmetry.bias)

    def outputs(self, hidden: torch.Tensor) -> dict[str, torch.Tensor]:
        """Translation, rotation and, with the classifier, ``symmetry_logits`` ``(B, S)``."""
        outputs = super().outputs(hidden)
        if self.fc_symmetry is not None:
            outputs['symmetry_logits'] = self.fc_symmetry(hidden)
        return outputs

    def rotation_loss(self, rotation: torch.Tensor, gt_q: torch.Tensor,
                      reduction_override: str | None = None) -> torch.Tensor:
        """``loss_rotation`` between the Gram–Schmidt matrices and the gt matrices."""
        return self.loss_rotation(rotation_6d_to_matrix(rotation), quaternion_to_matrix(gt_q),
                                  reduction_override=reduction_override)

    def loss_terms(self, outputs: dict[str, torch.Tensor], data_samples: Sequence[PoseDataSample],
                   reduction_override: str | None = None) -> dict[str, torch.Tensor]:
        """Base terms plus ``loss_symmetry`` (cross-entropy to ``k*``) with the classifier."""
        terms = super().loss_terms(outputs, data_samples, reduction_override)
        if self.fc_symmetry is None:
            return terms
        logits = outputs['symmetry_logits']
        gt_q = torch.stack([s.gt_q for s in data_samples]).to(logits.device, torch.float32)
        with torch.no_grad():
            target = symmetric_geodesic_distances(
                rotation_6d_to_matrix(outputs['rotation']), quaternion_to_matrix(gt_q),
                self.symmetries).argmin(dim=-1)
        per_sample = self.symmetry_loss_weight * F.cross_entropy(logits, target,
                                                                 reduction='none')
        reduction = reduction_override or 'mean'
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"{type(self).__name__}: reduction_override must be 'mean', "
                             f"'sum' or 'none', got {reduction!r}")
        terms['loss_symmetry'] = (per_sample.mean() if reduction == 'mean' else
                                  per_sample.sum() if reduction == 'sum' else per_sample)
        return terms

    def decode_rotation(self, rotation: torch.Tensor) -> torch.Tensor:
        """``(B, 6)`` → ``(B, 4)`` canonical quaternions."""
        return matrix_to_quaternion(rotation_6d_to_matrix(rotation))

    def decode_rotation_outputs(self, outputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Quaternions of ``R̂`` or, with the classifier, of ``R̂·S_k̂^T`` (torch ops only)."""
        if self.fc_symmetry is None:
            return self.decode_rotation(outputs['rotation'])
        matrix = rotation_6d_to_matrix(outputs['rotation'])
        chosen = self.symmetries.to(matrix)[outputs['symmetry_logits'].argmax(dim=-1)]
        return matrix_to_quaternion(matrix @ chosen.transpose(-1, -2))
