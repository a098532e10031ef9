from .inference import SequencePoses, inference_sequence, init_model
from .pose_smoothing import moving_average, smooth_pose_sequence, smooth_quaternions

__all__ = [
    'SequencePoses', 'inference_sequence', 'init_model', 'moving_average',
    'smooth_pose_sequence', 'smooth_quaternions',
]
