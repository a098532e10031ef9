from .base_head import BaseHead
from .base_pose_head import BasePoseHead
from .keypoint_head import KeypointHeatmapHead
from .pnp import PnPResult, RansacPnPSolver
from .quaternion_pose_head import QuaternionPoseHead
from .rot6d_pose_head import Rot6DPoseHead
from .uncertainty_pose_head import UncertaintyPoseHead

__all__ = ['BaseHead', 'BasePoseHead', 'KeypointHeatmapHead', 'PnPResult', 'QuaternionPoseHead',
           'RansacPnPSolver', 'Rot6DPoseHead', 'UncertaintyPoseHead']
