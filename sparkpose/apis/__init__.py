from .inference import SequencePoses, inference_sequence, init_model
from .pose_smoothing import (
    align_quaternion_signs,
    mean_quaternion,
    merge_flip_tta,
    moving_average,
    smooth_pose_sequence,
    smooth_quaternions,
)

__all__ = [
    'SequencePoses', 'inference_sequence', 'init_model', 'align_quaternion_signs',
    'mean_quaternion', 'merge_flip_tta', 'moving_average', 'smooth_pose_sequence',
    'smooth_quaternions',
]
