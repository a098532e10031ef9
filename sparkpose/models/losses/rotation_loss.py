"""Rotation losses: geodesic angle on matrices, and sign-invariant quaternion losses."""
import torch
import torch.nn.functional as F

from sparkpose.registry import MODELS
from sparkpose.structures import geodesic_distance_matrix, geodesic_distance_quaternion

from .base_loss import BasePoseLoss


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
