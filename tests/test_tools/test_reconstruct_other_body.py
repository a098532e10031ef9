"""Reconstruction of a body that is not the generator's default: the method is not tuned to one.

The body is rendered through the generator's Python API; its true near-symmetries are the
ones the same rule finds on points sampled along its box edges.
"""
import numpy as np
import pytest

from sparkpose.simulation.sequence import SequenceOptions, camera_for_resolution, write_sequence
from sparkpose.simulation.spades_writer import write_camera_json, write_split_files
from sparkpose.structures.body_features import distance_to_boxes, edge_points, find_symmetries
from sparkpose.structures.body_model import BodyModel, Box, load_body_model


def dish_satellite() -> BodyModel:
    """A tall bus, wings along x, a dish on +z (breaks the turns that flip z), a boom:
    near-symmetric only under the half turn about z."""
    boxes = (Box((0.0, 0.0, 0.0), (0.4, 0.4, 0.8), albedo=0.75),
             Box((0.6, 0.0, 0.0), (0.8, 0.03, 0.5), albedo=0.35, grid_pitch=0.1),
             Box((-0.6, 0.0, 0.0), (0.8, 0.03, 0.5), albedo=0.35, grid_pitch=0.1),
             Box((0.0, 0.0, 0.55), (0.8, 0.8, 0.3), albedo=0.9),
             Box((0.1, -0.35, -0.3), (0.04, 0.3, 0.04), albedo=0.9))
    return BodyModel('dish_satellite', boxes, symmetries=np.eye(3)[None])


@pytest.mark.slow
def test_dish_satellite_is_reconstructed(tmp_path, load_tool):
    body = dish_satellite()
    options = SequenceOptions(duration=1.0, resolution=(640, 360), max_tumble_rate=40.0,
                              min_distance=3.0, max_distance=5.0, body=body)
    names = [write_sequence(tmp_path, 11, i, options).stem for i in range(12)]
    write_camera_json(tmp_path, camera_for_resolution(options.resolution))
    write_split_files(tmp_path, {'train': names})
    out = tmp_path / 'rec' / 'body.json'
    load_tool('analysis_tools/reconstruct_body.py').main(
        [str(tmp_path), '--out', str(out)])
    model = load_body_model(str(out))
    near = distance_to_boxes(model.points, body.boxes) <= 0.03
    assert near.mean() >= 0.9
    assert distance_to_boxes(model.keypoints, body.boxes).max() <= 0.05
    assert len(model.keypoints) == 14
    truth = find_symmetries(edge_points(body), tolerance=0.06)
    assert len(truth) == 2  # the identity and the half turn about z
    np.testing.assert_allclose(model.symmetries, truth, atol=1e-12)
