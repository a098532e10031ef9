import itertools

import numpy as np
import pytest

from sparkpose.structures import BodyModel, mirror_symmetric, proba2_like


def _box_set(body, transform=None):
    """Boxes as a set of rounded (centre, size, albedo, pitch) after a signed permutation."""
    transform = np.eye(3) if transform is None else transform
    return {(tuple(np.round(transform @ box.center, 6)),
             tuple(np.round(np.abs(transform) @ box.size, 6)), box.albedo, box.grid_pitch)
            for box in body.boxes}


def _signed_permutations():
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((-1, 1), repeat=3):
            yield np.eye(3)[list(perm)] * np.array(signs)[:, None]


def test_proba2_like_shape():
    body = proba2_like()
    bus = body.boxes[0]
    assert bus.center == (0.0, 0.0, 0.0) and 0.6 <= min(bus.size) and max(bus.size) <= 0.8
    # Two solar wings on either side of the bus along body y.
    wings = [b for b in body.boxes if b.grid_pitch > 0]
    assert sorted(b.center[1] for b in wings) == [-0.7, 0.7]
    corners = np.concatenate([b.corners for b in body.boxes])
    assert body.bounding_radius == np.linalg.norm(corners, axis=1).max()
    np.testing.assert_allclose(body.bounding_radius, np.hypot(0.3, 0.95), atol=0.01)


def test_wireframe_is_box_edges():
    body = proba2_like()
    segments = body.wireframe()
    assert segments.shape == (12 * len(body.boxes), 2, 3)
    delta = np.abs(segments[:, 1] - segments[:, 0])
    # Each edge runs along one body axis with the length of the box's side.
    assert np.all(np.count_nonzero(delta > 1e-12, axis=1) == 1)
    sizes = np.repeat([b.size for b in body.boxes], 12, axis=0)
    np.testing.assert_allclose(delta.max(1), sizes[np.arange(len(delta)), delta.argmax(1)])


def test_mirror_symmetric_body_is_symmetric_under_x_reflection():
    body = mirror_symmetric()
    assert _box_set(body, np.diag([-1.0, 1, 1])) == _box_set(body)


def test_proba2_like_has_no_symmetry():
    # A union of axis-aligned boxes can only be mapped onto itself by a signed permutation
    # of the axes; none but the identity may do it, or some poses would be ambiguous.
    body = proba2_like()
    symmetries = [m for m in _signed_permutations() if _box_set(body, m) == _box_set(body)]
    assert len(symmetries) == 1 and np.array_equal(symmetries[0], np.eye(3))
    # The test can fail: the symmetric body has more than the identity.
    sym = mirror_symmetric()
    assert sum(_box_set(sym, m) == _box_set(sym) for m in _signed_permutations()) > 1


def test_two_coordinate_keypoints_are_named_as_the_problem():
    data = proba2_like().to_dict()
    data['keypoints'] = {f'k{i}': [0.1 * i, 0.0] for i in range(12)}
    with pytest.raises(ValueError, match=r'\[x, y, z\].*shape \(12, 2\)'):
        BodyModel.from_dict(data, source='body.json')
