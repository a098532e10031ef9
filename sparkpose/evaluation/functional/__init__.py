from .mean_pose_baseline import mean_pose, mean_pose_baseline
from .pose_errors import (
    POSITION_THRESHOLD,
    ROTATION_ACCURACY_THRESHOLDS_DEG,
    ROTATION_THRESHOLD_DEG,
    pose_error_arrays,
    position_error,
    rotation_accuracy,
    rotation_error_deg,
    rotation_error_sym_deg,
    speed_scores,
    summarize_error_arrays,
    summarize_pose_errors,
)

__all__ = [
    'POSITION_THRESHOLD', 'ROTATION_ACCURACY_THRESHOLDS_DEG', 'ROTATION_THRESHOLD_DEG',
    'mean_pose', 'mean_pose_baseline', 'position_error', 'rotation_accuracy',
    'rotation_error_deg', 'rotation_error_sym_deg', 'speed_scores', 'summarize_pose_errors',
    'pose_error_arrays', 'summarize_error_arrays',
]
