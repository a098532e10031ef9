from .base_pose_head import BasePoseHead
from .quaternion_pose_head import QuaternionPoseHead
from .rot6d_pose_head import Rot6DPoseHead
from .uncertainty_pose_head import UncertaintyPoseHead

__all__ = ['BasePoseHead', 'QuaternionPoseHead', 'Rot6DPoseHead', 'UncertaintyPoseHead']
