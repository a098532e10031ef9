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

__all__ = [
    'BODY_FILE', 'BodyModel', 'Box', 'check_symmetries', 'load_body_model', 'mirror_symmetric',
    'proba2_like',
    'PoseDataSample', 'SparseInputs', 'stack_cameras', 'canonical_quaternion',
    'flip_pose_horizontal',
    'geodesic_distance_matrix', 'geodesic_distance_quaternion', 'matrix_to_quaternion',
    'matrix_to_rotation_6d', 'quaternion_to_matrix', 'rotation_6d_to_matrix',
]
