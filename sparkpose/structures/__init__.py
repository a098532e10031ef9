from .body_model import (
    BODY_FILE,
    BodyModel,
    Box,
    check_symmetries,
    load_body_model,
    mirror_symmetric,
    proba2_like,
)
from .pose_data_sample import PoseDataSample, stack_cameras
from .rotation import (
    canonical_quaternion,
    flip_pose_horizontal,
    geodesic_distance_matrix,
    geodesic_distance_quaternion,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    quaternion_to_matrix,
    rotation_6d_to_matrix,
)
from .sparse_inputs import SparseInputs
from .window_events import GridSpec, WindowEvents, voxel_grid_torch

# Compact forms of a sample's input that travel from DataLoader workers and become the
# dense grid on the model's device: each has ``stack(items, empty=...)`` and
# ``to_dense(device, non_blocking)``.
PACKED_INPUTS = (SparseInputs, WindowEvents)

__all__ = [
    'BODY_FILE', 'BodyModel', 'Box', 'check_symmetries', 'load_body_model', 'mirror_symmetric',
    'proba2_like',
    'GridSpec', 'PACKED_INPUTS', 'PoseDataSample', 'SparseInputs', 'WindowEvents',
    'voxel_grid_torch', 'stack_cameras', 'canonical_quaternion',
    'flip_pose_horizontal',
    'geodesic_distance_matrix', 'geodesic_distance_quaternion', 'matrix_to_quaternion',
    'matrix_to_rotation_6d', 'quaternion_to_matrix', 'rotation_6d_to_matrix',
]
