from .base_pose_head import BasePoseHead
from .keypoint_head import KeypointHeatmapHead
from .quaternion_pose_head import QuaternionPoseHead
from .rot6d_pose_head import Rot6DPoseHead
from .uncertainty_pose_head import UncertaintyPoseHead

__all__ = ['BasePoseHead', 'KeypointHeatmapHead', 'QuaternionPoseHead', 'Rot6DPoseHead',
           'UncertaintyPoseHead']
