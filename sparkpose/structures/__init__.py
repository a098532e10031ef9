from .body_model import (
    BODY_FILE,
    BodyModel,
    Box,
    check_symmetries,
    load_body_model,
    mirror_symmetric,
    proba2_like,
)
from .packed_inputs import PACKED_INPUTS, packed_form
from .pose_data_sample import PoseDataSample, stack_cameras
from .rotation import (
    align_quaternion_signs,
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    canonical_quaternion,
    chordal_mean_rotation,
    flip_pose_horizontal,
    geodesic_distance_matrix,
    geodesic_distance_quaternion,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    mean_quaternion,
    quaternion_multiply,
    quaternion_to_matrix,
    rotation_6d_to_matrix,
    symmetric_geodesic_distances,
)
from .sparse_inputs import SparseInputs
from .window_events import GridSpec, WindowEvents, voxel_grid_torch

__all__ = [
    'BODY_FILE', 'BodyModel', 'Box', 'check_symmetries', 'load_body_model', 'mirror_symmetric',
    'proba2_like',
    'GridSpec', 'PACKED_INPUTS', 'packed_form', 'PoseDataSample', 'SparseInputs', 'WindowEvents',
    'voxel_grid_torch', 'stack_cameras', 'canonical_quaternion',
    'flip_pose_horizontal',
    'geodesic_distance_matrix', 'geodesic_distance_quaternion', 'matrix_to_quaternion',
    'matrix_to_rotation_6d', 'quaternion_to_matrix', 'rotation_6d_to_matrix',
    'align_quaternion_signs', 'axis_angle_to_matrix', 'axis_angle_to_quaternion',
    'chordal_mean_rotation', 'mean_quaternion', 'quaternion_multiply',
    'symmetric_geodesic_distances',
]
