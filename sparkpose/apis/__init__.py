from .inference import SequencePoses, inference_sequence, init_model
from .pose_smoothing import moving_average, smooth_pose_sequence, smooth_quaternions
from .status_file import status_path, write_status_file

__all__ = [
    'SequencePoses', 'inference_sequence', 'init_model', 'moving_average',
    'smooth_pose_sequence', 'smooth_quaternions', 'status_path', 'write_status_file',
]
