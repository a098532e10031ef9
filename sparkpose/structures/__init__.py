"""Data structures and geometry: rotations, the body model, data samples, packed inputs.

Names are imported on first use (:mod:`sparkpose.lazy_exports`), so the body model loads
without torch.
"""
from sparkpose.lazy_exports import lazy_exports

_MODULE_NAMES = {
    'body_model': ('BODY_FILE', 'BodyModel', 'Box', 'check_symmetries', 'load_body_model',
                   'mirror_symmetric', 'proba2_like'),
    'keypoint_projection': ('project_keypoints',),
    'packed_inputs': ('PACKED_INPUTS', 'packed_form'),
    'pose_data_sample': ('PoseDataSample', 'batch_geometry', 'stack_cameras'),
    'rotation': ('align_quaternion_signs', 'axis_angle_to_matrix', 'axis_angle_to_quaternion',
                 'canonical_quaternion', 'chordal_mean_rotation', 'flip_pose_horizontal',
                 'geodesic_distance_matrix', 'geodesic_distance_quaternion',
                 'matrix_to_quaternion', 'matrix_to_rotation_6d', 'mean_quaternion',
                 'quaternion_multiply', 'quaternion_to_axis_angle', 'quaternion_to_matrix',
                 'rotation_6d_to_matrix',
                 'symmetric_geodesic_distances'),
    'pose_status': ('POSE_STATUSES', 'status_counts', 'status_name'),
    'sequence_filter': ('filter_pose_sequence',),
    'sparse_inputs': ('SparseInputs',),
    'window_events': ('GridSpec', 'WindowEvents', 'voxel_grid_torch'),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULE_NAMES)
