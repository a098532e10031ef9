import numpy as np
import pytest
import torch

from sparkpose.datasets import SPADES_CAMERA
from sparkpose.simulation import (
    render,
    render_region,
)
from sparkpose.structures import (
    BodyModel,
    Box,
    flip_pose_horizontal,
    mirror_symmetric,
    proba2_like,
    quaternion_to_matrix,
)

K = np.asarray(SPADES_CAMERA['cameraMatrix'], np.float64)
SIZE = (1280, 720)
MIRROR = np.diag([-1.0, 1.0, 1.0])


def _random_scenes(seed, num):
    rng = np.random.default_rng(seed)
    for _ in range(num):
        rotation = quaternion_to_matrix(torch.from_numpy(rng.standard_normal(4))).numpy()
        translation = np.array([rng.uniform(-1, 1), rng.uniform(-0.4, 0.4), rng.uniform(4, 8)])
        sun = rng.standard_normal(3)
        sun[2] = -abs(sun[2])
        yield rotation, translation, sun


def _render_flipped(body, rotation, translation, sun):
    rot_f, t_f = flip_pose_horizontal(torch.from_numpy(rotation), torch.from_numpy(translation),
                                      torch.from_numpy(MIRROR))
    # The mirror acts on the whole scene, the Sun included.
    return render(body, rot_f.numpy(), t_f.numpy(), K, SIZE, MIRROR @ sun)


def test_flip_rule_is_exact_for_mirror_symmetric_body():
    body = mirror_symmetric()
    for rotation, translation, sun in _random_scenes(0, 4):
        image = render(body, rotation, translation, K, SIZE, sun)
        assert (image > 0).sum() > 5000
        assert not np.array_equal(image, np.fliplr(image))  # the check is not trivial
        np.testing.assert_allclose(_render_flipped(body, rotation, translation, sun),
                                   np.fliplr(image), atol=1e-6)


def test_flip_rule_fails_for_asymmetric_proba2():
    body = proba2_like()
    for rotation, translation, sun in _random_scenes(1, 3):
        image = render(body, rotation, translation, K, SIZE, sun)
        mismatch = np.abs(_render_flipped(body, rotation, translation, sun) - np.fliplr(image))
        assert (mismatch > 0.05).sum() > 300


def test_pixel_centre_convention_and_lambert():
    # A plate facing the camera: pixel (x, y) is lit iff its centre (x + .5, y + .5)
    # projects inside the plate's front face.
    plate = BodyModel('plate', (Box((0.0, 0.0, 0.0), (1.0, 0.6, 0.02), albedo=0.8),))
    translation = np.array([0.0123, -0.0311, 5.0])
    z = translation[2] - 0.01
    image = render(plate, np.eye(3), translation, K, SIZE, sun_direction=[0, 0, -1],
                   ambient=0.1)
    u = K[0, 2] + K[0, 0] * (translation[0] + np.array([-0.5, 0.5])) / z
    v = K[1, 2] + K[1, 1] * (translation[1] + np.array([-0.3, 0.3])) / z
    cols = (np.arange(SIZE[0]) + 0.5 > u[0]) & (np.arange(SIZE[0]) + 0.5 < u[1])
    rows = (np.arange(SIZE[1]) + 0.5 > v[0]) & (np.arange(SIZE[1]) + 0.5 < v[1])
    np.testing.assert_array_equal(image > 0, rows[:, None] & cols[None])
    # Sun straight behind the camera: full albedo; at 60 degrees: ambient + cos 60.
    np.testing.assert_allclose(image[image > 0], 0.8, rtol=1e-6)
    oblique = render(plate, np.eye(3), translation, K, SIZE, [np.sin(np.pi / 3), 0, -0.5],
                     ambient=0.1)
    np.testing.assert_allclose(oblique[360, 640], 0.8 * (0.1 + 0.9 * 0.5), rtol=1e-5)


def test_self_shadow():
    cube = Box((0.0, 0.0, 0.0), (0.2, 0.2, 0.2), albedo=0.5)
    wall = Box((0.35, 0.0, 0.0), (0.05, 0.6, 2.0), albedo=0.5)  # between cube and Sun
    sun = np.array([1.0, 0.0, -1.0])
    pose = (np.eye(3), np.array([0.0, 0.0, 6.0]))
    lit = render(BodyModel('cube', (cube,)), *pose, K, SIZE, sun, ambient=0.1)
    shadowed = render(BodyModel('cube+wall', (cube, wall)), *pose, K, SIZE, sun, ambient=0.1)
    np.testing.assert_allclose(lit[360, 640], 0.5 * (0.1 + 0.9 * np.sqrt(0.5)), rtol=1e-5)
    np.testing.assert_allclose(shadowed[360, 640], 0.5 * 0.1, rtol=1e-5)


def test_render_region_matches_full_render_and_checks_depth():
    body = proba2_like()
    rotation, translation, sun = next(_random_scenes(2, 1))
    crop, (x0, y0, x1, y1) = render_region(body, rotation, translation, K, SIZE, sun)
    image = render(body, rotation, translation, K, SIZE, sun)
    np.testing.assert_array_equal(image[y0:y1, x0:x1], crop)
    assert image.sum() == pytest.approx(crop.sum())
    with pytest.raises(ValueError, match='behind'):
        render(body, rotation, np.array([0, 0, 0.5]), K, SIZE, sun)
