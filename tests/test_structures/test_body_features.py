"""Keypoints and near-symmetries from points: checked on points sampled from known boxes."""
import numpy as np
import pytest

from sparkpose.structures.body_features import (
    axis_rotations,
    body_from_points,
    distance_to_boxes,
    edge_points,
    find_symmetries,
    select_keypoints,
)
from sparkpose.structures.body_model import BodyModel, load_body_model, proba2_like


def test_axis_rotations_are_the_24_proper_ones_identity_first():
    rotations = axis_rotations()
    assert rotations.shape == (24, 3, 3)
    np.testing.assert_array_equal(rotations[0], np.eye(3))
    assert np.allclose(np.linalg.det(rotations), 1)
    assert len({r.tobytes() for r in rotations}) == 24


def test_proba2_like_symmetries_are_found_exactly():
    body = proba2_like()
    found = find_symmetries(edge_points(body), tolerance=0.06)
    assert found.shape == body.symmetries.shape
    np.testing.assert_allclose(found, body.symmetries, atol=1e-12)


def test_keypoints_on_structure_spread_and_include_asymmetric_parts():
    body = proba2_like()
    model = body_from_points(edge_points(body), 'rec')
    assert len(model.keypoints) == 14
    assert len(set(model.keypoint_names)) == 14
    assert distance_to_boxes(model.keypoints, body.boxes).max() <= 0.05
    assert any(name.startswith('asym') for name in model.keypoint_names)
    # Spread over the body: keypoints reach both ends of every axis.
    assert (model.keypoints.max(0) > 0.25).all() and (model.keypoints.min(0) < -0.25).all()


def test_keypoints_are_the_corners_of_the_bus_and_the_panels():
    """Corners are single points of the image; an extreme along an edge's normal is not."""
    body = proba2_like()
    model = body_from_points(edge_points(body), 'rec')
    wanted = [body.keypoints[i] for i, name in enumerate(body.keypoint_names)
              if name.startswith(('bus_', 'wing'))]
    assert len(wanted) == 12
    for corner in wanted:
        assert np.linalg.norm(model.keypoints - corner, axis=1).min() <= 0.02, corner
    asym = [k for k, n in zip(model.keypoints, model.keypoint_names) if n.startswith('asym')]
    assert len(asym) == 2  # the boom's end and the instrument's top: off the symmetries


def test_structure_without_corners_is_topped_up_to_the_count():
    rng = np.random.default_rng(0)
    sphere = rng.normal(size=(3000, 3))
    sphere = 0.5 * sphere / np.linalg.norm(sphere, axis=1, keepdims=True)
    keypoints, names = select_keypoints(sphere, axis_rotations()[:1], 0.04, 14)
    assert keypoints.shape == (14, 3) and len(set(names)) == 14
    assert all(n.startswith(('tip', 'far')) for n in names)
    assert np.linalg.norm(keypoints, axis=1) == pytest.approx(0.5, abs=1e-6)


def test_box_less_body_round_trips_through_json(tmp_path):
    body = body_from_points(edge_points(proba2_like()), 'rec')
    loaded = load_body_model(str(body.save(tmp_path / 'body.json')))
    assert loaded.boxes == ()
    np.testing.assert_allclose(loaded.points, body.points, atol=1e-4)
    np.testing.assert_allclose(loaded.keypoints, body.keypoints)
    assert loaded.keypoint_names == body.keypoint_names
    assert loaded.bounding_radius == pytest.approx(np.linalg.norm(body.points, axis=1).max(),
                                                   abs=1e-4)
    assert loaded.wireframe().shape == (0, 2, 3)


def test_body_without_boxes_or_points_is_refused():
    with pytest.raises(ValueError, match='neither boxes nor points'):
        BodyModel('empty', ())
