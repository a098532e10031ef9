"""Rotation losses: geodesic angle on matrices (plain or modulo body symmetries), and
sign-invariant quaternion losses."""
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sparkpose.registry import MODELS
from sparkpose.structures import (
    check_symmetries,
    geodesic_distance_matrix,
    geodesic_distance_quaternion,
    load_body_model,
    quaternion_to_matrix,
    symmetric_geodesic_distances,
)

from .base_loss import BasePoseLoss


def load_symmetries(body_model: str | None = None,
                    symmetries: Sequence[Sequence[Sequence[float]]] | None = None,
                    owner: str = 'symmetries') -> torch.Tensor:
    """The ``(S, 3, 3)`` body symmetries from a body model file or an explicit list.

    Exactly one source must be given, so a config cannot silently train against a set other
    than the one it names. The identity must come first (as in ``body.json``): a classifier
    over the set then starts at "no flip".

    Args:
        body_model: Path of a ``body.json`` (see ``load_body_model``).
        symmetries: ``S`` body-frame 3×3 rotations, the identity first.
        owner: Name used in error messages (the loss or head asking).

    Returns:
        ``(S, 3, 3)`` float32 rotations.
    """
    if (body_model is None) == (symmetries is None):
        raise ValueError(f'{owner}: give exactly one of body_model (path of a body.json) '
                         f'or symmetries (list of 3x3 rotations), got body_model='
                         f'{body_model!r}, symmetries={symmetries!r}')
    if body_model is not None:
        matrices = load_body_model(str(body_model)).symmetries
    else:
        matrices = check_symmetries(symmetries, owner)
    return torch.as_tensor(np.array(matrices), dtype=torch.float32)


@MODELS.register_module()
class GeodesicRotationLoss(BasePoseLoss):
    """Angle of the relative rotation between predicted and target matrices, in radians.

    Computed in float32 or wider with the cosine clamped (see
    ``geodesic_distance_matrix``), so it stays finite with a finite gradient under fp16 /
    bf16 autocast, also where prediction equals target (there it is ``acos(1 - 1e-7)``,
    about 5e-4 rad, instead of 0).

    Args:
        loss_weight: Factor applied to the loss (3.0 in the original SOTA config).
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` over the batch.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                reduction_override: str | None = None) -> torch.Tensor:
        """Loss of ``(B, 3, 3)`` predicted against ``(B, 3, 3)`` target rotations."""
        return self.weight_and_reduce(geodesic_distance_matrix(pred, target), reduction_override)


@MODELS.register_module()
class QuaternionRotationLoss(BasePoseLoss):
    """Sign-invariant quaternion loss (q and -q are the same rotation).

    ``mode='geodesic'``: ``2·acos(|<q̂, q>|)``, the rotation angle in radians (same units as
    ``GeodesicRotationLoss``, clamped the same way). ``mode='cosine'``: ``1 - |<q̂, q>|``,
    smooth everywhere, but flat for small errors. Predictions need not be unit norm.

    Args:
        mode: ``'geodesic'`` or ``'cosine'``.
        loss_weight: Factor applied to the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` over the batch.
    """

    def __init__(self, mode: str = 'geodesic', loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__(loss_weight, reduction)
        if mode not in ('geodesic', 'cosine'):
            raise ValueError(f"QuaternionRotationLoss: mode must be 'geodesic' or 'cosine', "
                             f'got {mode!r}')
        self.mode = mode

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                reduction_override: str | None = None) -> torch.Tensor:
        """Loss of ``(B, 4)`` predicted against ``(B, 4)`` target quaternions (x, y, z, w)."""
        if self.mode == 'geodesic':
            per_sample = geodesic_distance_quaternion(pred, target)
        else:
            dtype = torch.promote_types(pred.dtype, torch.float32)
            dot = (F.normalize(pred.to(dtype), dim=-1) * F.normalize(target.to(dtype), dim=-1))
            per_sample = 1 - dot.sum(-1).abs()
        return self.weight_and_reduce(per_sample, reduction_override)


@MODELS.register_module()
class SymmetricGeodesicLoss(BasePoseLoss):
    """Geodesic angle to the nearest symmetric copy of the target, ``min_k d(R̂, R·S_k)``.

    A body that looks (nearly) the same under the symmetries ``S_k`` gives no image cue to
    tell ``R`` from ``R·S_k``; the plain geodesic loss then pulls the prediction towards the
    mean of the copies, which is none of them. This loss accepts any copy; pair it with the
    ``symmetry_classifier`` of ``Rot6DPoseHead`` to recover which one (where the small
    asymmetries allow). With the identity alone it equals ``GeodesicRotationLoss``. Float32
    with the cosine clamped, so half precision is safe.

    Args:
        body_model: Path of a ``body.json`` whose ``symmetries`` to use.
        symmetries: Or the ``S`` body-frame 3×3 rotations themselves, the identity first.
        loss_weight: Factor applied to the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` over the batch.
    """

    def __init__(self, body_model: str | None = None,
                 symmetries: Sequence[Sequence[Sequence[float]]] | None = None,
                 loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__(loss_weight, reduction)
        # Not persistent: the set comes from the config, checkpoints stay as they were.
        self.register_buffer('symmetries',
                             load_symmetries(body_model, symmetries, 'SymmetricGeodesicLoss'),
                             persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                reduction_override: str | None = None) -> torch.Tensor:
        """Loss of ``(B, 3, 3)`` predicted against ``(B, 3, 3)`` target rotations.

        ``(B, 4)`` quaternions (x, y, z, w) are accepted too and converted to matrices, so
        the loss also serves ``QuaternionPoseHead``.
        """
        is_matrix = pred.ndim >= 2 and pred.shape[-2:] == (3, 3)
        if pred.shape != target.shape or not (is_matrix or pred.shape[-1] == 4):
            raise ValueError(f'SymmetricGeodesicLoss: expected (B, 3, 3) matrices or (B, 4) '
                             f'quaternions of equal shape, got {tuple(pred.shape)} and '
                             f'{tuple(target.shape)}')
        if not is_matrix:
            pred, target = quaternion_to_matrix(pred), quaternion_to_matrix(target)
        distances = symmetric_geodesic_distances(pred, target, self.symmetries)
        return self.weight_and_reduce(distances.min(dim=-1).values, reduction_override)
