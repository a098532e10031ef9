from .pose_smoothing import (
    align_quaternion_signs,
    mean_quaternion,
    merge_flip_tta,
    moving_average,
    smooth_pose_sequence,
    smooth_quaternions,
)

__all__ = [
    'align_quaternion_signs', 'mean_quaternion', 'merge_flip_tta', 'moving_average',
    'smooth_pose_sequence', 'smooth_quaternions',
]
