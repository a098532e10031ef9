"""Pose head regressing a quaternion."""
import torch
import torch.nn.functional as F

from sparkpose.registry import MODELS
from sparkpose.structures import canonical_quaternion

from .base_pose_head import BasePoseHead


@MODELS.register_module()
class QuaternionPoseHead(BasePoseHead):
    """Translation + quaternion (x, y, z, w), normalised to unit length.

    The classic quaternion head. Quaternions double-cover SO(3) and no continuous map from
    rotations to R^4 exists, so prefer ``Rot6DPoseHead``; the default loss is therefore
    sign-invariant (``QuaternionRotationLoss``, geodesic). See ``BasePoseHead`` for the
    arguments.
    """

    rotation_dim = 4
    identity_rotation = (0.0, 0.0, 0.0, 1.0)
    default_loss_rotation = dict(type='QuaternionRotationLoss')

    def rotation_loss(self, rotation: torch.Tensor, gt_q: torch.Tensor,
                      reduction_override: str | None = None) -> torch.Tensor:
        """``loss_rotation`` on ``(B, 4)`` raw quaternions (normalised inside the loss)."""
        return self.loss_rotation(rotation, gt_q, reduction_override=reduction_override)

    def decode_rotation(self, rotation: torch.Tensor) -> torch.Tensor:
        """Normalise and canonicalise ``(B, 4)`` raw quaternions."""
        return canonical_quaternion(F.normalize(rotation, dim=-1))
