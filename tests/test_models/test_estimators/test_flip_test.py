"""Flip test-time augmentation: the merge rule, mirrored intrinsics, and the estimator path."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sparkpose.models.estimators.flip_test import merge_flip_tta, mirror_data_samples
from sparkpose.registry import MODELS
from sparkpose.structures import (
    PoseDataSample,
    axis_angle_to_quaternion,
    flip_pose_horizontal,
    geodesic_distance_quaternion,
    matrix_to_quaternion,
    quaternion_to_matrix,
)


def random_pose(seed):
    generator = torch.Generator().manual_seed(seed)
    quat = F.normalize(torch.randn(5, 4, generator=generator, dtype=torch.float64), dim=-1)
    translation = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    return translation + torch.tensor([0.0, 0.0, 6.0], dtype=torch.float64), quat


def flipped(translation, quat, reflection=None):
    rotation, translation = flip_pose_horizontal(quaternion_to_matrix(quat), translation,
                                                 reflection)
    return translation, matrix_to_quaternion(rotation)


def z_rotation(deg):
    return axis_angle_to_quaternion(torch.tensor([[0.0, 0.0, math.radians(deg)]],
                                                 dtype=torch.float64))


# S (plane x = 0), a plane mirror with an oblique normal, and an improper rotation
# (reflection composed with a 90° turn) for which M⁻¹ ≠ M.
OBLIQUE_NORMAL = F.normalize(torch.tensor([0.3, -0.8, 0.5], dtype=torch.float64), dim=0)
REFLECTIONS = {
    'default': None,
    'oblique_plane': torch.eye(3, dtype=torch.float64) - 2 * torch.outer(OBLIQUE_NORMAL,
                                                                          OBLIQUE_NORMAL),
    'rotoreflection': [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]],
}


@pytest.mark.parametrize('name', REFLECTIONS)
def test_merge_of_the_exact_mirrored_pose_gives_the_pose_back(name):
    reflection = REFLECTIONS[name]
    translation, quat = random_pose(0)
    flip_t, flip_q = flipped(translation, quat,
                             None if reflection is None else torch.as_tensor(reflection))
    assert (flip_t - translation).abs().max() > 0.1  # the mirrored pose differs
    merged_t, merged_q = merge_flip_tta(translation, quat, flip_t, -flip_q, reflection)
    torch.testing.assert_close(merged_t, translation)
    assert geodesic_distance_quaternion(merged_q, quat, margin=0.0).max() < 1e-7
    assert (merged_q[:, 3] >= 0).all()


def test_merge_averages_two_different_predictions():
    translation = torch.tensor([[0.2, -0.1, 6.0]])
    other_t = torch.tensor([[0.4, -0.3, 6.2]])
    flip_t, flip_q = flipped(other_t.double(), z_rotation(30))
    merged_t, merged_q = merge_flip_tta(translation, z_rotation(10).float(), flip_t.float(),
                                        flip_q.float())
    assert merged_t.dtype == torch.float32
    torch.testing.assert_close(merged_t, torch.tensor([[0.3, -0.2, 6.1]]))
    assert geodesic_distance_quaternion(merged_q.double(), z_rotation(20), margin=0.0) < 1e-6


def test_mirrored_intrinsics_project_the_mirrored_scene_onto_the_mirrored_pixels():
    cam_K = np.array([[50.0, 0, 21.3], [0, 50.0, 30.0], [0, 0, 1]])
    sample = PoseDataSample(metainfo=dict(cam_K=cam_K, input_size=(64, 64)))
    mirrored = mirror_data_samples([sample])[0]
    np.testing.assert_array_equal(sample.cam_K, cam_K)  # the original is untouched
    point = np.array([0.3, -0.2, 5.0])
    u = (cam_K @ point / point[2])[0]
    u_mirror = (mirrored.cam_K @ (point * [-1, 1, 1]) / point[2])[0]
    assert u_mirror == pytest.approx(64 - u)


def test_estimator_flip_test_merges_the_mirrored_prediction():
    model_cfg = dict(type='PoseEstimator',
                     backbone=dict(type='VoxelCNN', in_channels=2, channels=(8, 16)),
                     neck=dict(type='GlobalAveragePooling'),
                     head=dict(type='Rot6DPoseHead', in_channels=16))
    plain = MODELS.build(model_cfg).eval()
    flip = MODELS.build(dict(model_cfg, test_cfg=dict(flip_test=True))).eval()
    flip.load_state_dict(plain.state_dict())
    inputs = torch.rand(3, 2, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        t, q = plain.predict_pose(inputs)
        t_mirror, q_mirror = plain.predict_pose(inputs.flip(-1))
        merged = flip.predict(inputs)
    expected_t, expected_q = merge_flip_tta(t, q, t_mirror, q_mirror)
    torch.testing.assert_close(torch.stack([s.pred_t for s in merged]), expected_t)
    torch.testing.assert_close(torch.stack([s.pred_q for s in merged]), expected_q)
    assert (torch.stack([s.pred_t for s in merged]) - t).abs().max() > 1e-4  # it did change


def test_estimator_rejects_unknown_test_cfg_keys():
    with pytest.raises(ValueError, match=r"unknown test_cfg key\(s\) \['flip'\]"):
        MODELS.build(dict(type='PoseEstimator',
                          backbone=dict(type='VoxelCNN', in_channels=2, channels=(8, 16)),
                          neck=dict(type='GlobalAveragePooling'),
                          head=dict(type='Rot6DPoseHead', in_channels=16),
                          test_cfg=dict(flip=True)))
