"""Pose head regressing the continuous 6-D rotation representation."""
import torch

from sparkpose.registry import MODELS
from sparkpose.structures import matrix_to_quaternion, quaternion_to_matrix, rotation_6d_to_matrix

from .base_pose_head import BasePoseHead


@MODELS.register_module()
class Rot6DPoseHead(BasePoseHead):
    """Translation + 6-D rotation (Zhou et al., CVPR 2019), the recommended head.

    The six outputs are mapped to a rotation matrix by Gram–Schmidt; the loss compares
    matrices (``GeodesicRotationLoss`` by default), and ``predict`` converts the matrix to a
    canonical quaternion. See ``BasePoseHead`` for the arguments.
    """

    rotation_dim = 6
    identity_rotation = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    default_loss_rotation = dict(type='GeodesicRotationLoss')

    def rotation_loss(self, rotation: torch.Tensor, gt_q: torch.Tensor,
                      reduction_override: str | None = None) -> torch.Tensor:
        """``loss_rotation`` between the Gram–Schmidt matrices and the gt matrices."""
        return self.loss_rotation(rotation_6d_to_matrix(rotation), quaternion_to_matrix(gt_q),
                                  reduction_override=reduction_override)

    def decode_rotation(self, rotation: torch.Tensor) -> torch.Tensor:
        """``(B, 6)`` → ``(B, 4)`` canonical quaternions."""
        return matrix_to_quaternion(rotation_6d_to_matrix(rotation))
