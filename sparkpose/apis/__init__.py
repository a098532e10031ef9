from .inference import SequencePoses, inference_sequence, init_model
from .pose_smoothing import moving_average, smooth_pose_sequence, smooth_quaternions
from .sequence_filter import SequenceFilterConfig, filter_sequence

__all__ = [
    'SequenceFilterConfig', 'SequencePoses', 'filter_sequence', 'inference_sequence',
    'init_model', 'moving_average', 'smooth_pose_sequence', 'smooth_quaternions',
]
