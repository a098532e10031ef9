import numpy as np
import torch

from sparkpose.datasets import SPADES_CAMERA
from sparkpose.structures import proba2_like, quaternion_to_matrix
from sparkpose.visualization import (
    AXIS_COLORS,
    OFF_COLOR,
    ON_COLOR,
    OUTLINE_COLOR,
    draw_pose,
    events_to_rgb,
    project_points,
)

K = np.asarray(SPADES_CAMERA['cameraMatrix'], np.float64)


def _has_color_near(image, u, v, color, radius=1):
    """Whether ``color`` appears within ``radius`` pixels of the pixel holding ``(u, v)``."""
    x, y = int(np.floor(u)), int(np.floor(v))
    patch = image[y - radius:y + radius + 1, x - radius:x + radius + 1]
    return bool(np.all(patch == color, axis=-1).any())


def test_events_to_rgb_colours_and_order():
    x = np.array([3, 5, 5, 9, 40])
    y = np.array([1, 2, 2, 7, 1])
    p = np.array([1, 1, 0, 0, 1])
    image = events_to_rgb(x, y, p, (10, 8))
    assert image.shape == (8, 10, 3) and image.dtype == np.uint8
    assert tuple(image[1, 3]) == ON_COLOR
    assert tuple(image[2, 5]) == OFF_COLOR  # the later OFF event paints over the ON one
    assert tuple(image[7, 9]) == OFF_COLOR
    painted = np.any(image != 255, axis=-1)
    assert painted.sum() == 3  # x = 40 lies outside the image and is ignored


def test_project_points_with_scaled_intrinsics():
    point = np.array([0.4, -0.2, 5.0])
    np.testing.assert_allclose(project_points(point, K),
                               [640 + 1258.6057531097028 * 0.08, 360 - 1258.6057531097028 * 0.04])
    scale = np.diag([256 / 1280, 256 / 720, 1.0])
    np.testing.assert_allclose(project_points(point[None], scale @ K)[0],
                               project_points(point, K) * [256 / 1280, 256 / 720])


def _pose():
    rotation = quaternion_to_matrix(torch.tensor([0.3, -0.4, 0.1, 0.85],
                                                 dtype=torch.float64)).numpy()
    return rotation, np.array([0.3, -0.2, 6.0])


def test_draw_pose_axes_and_outline():
    rotation, translation = _pose()
    blank = np.full((720, 1280, 3), 255, np.uint8)
    image = draw_pose(blank, rotation, translation, K, axis_length=0.8)
    assert np.all(blank == 255)  # input untouched
    for axis, color in enumerate(AXIS_COLORS):
        tip = rotation[:, axis] * 0.8 * 0.75 + translation  # three quarters along the axis
        assert _has_color_near(image, *project_points(tip, K), color), axis
    outline = np.all(image == OUTLINE_COLOR, axis=-1)
    assert outline.sum() > 500
    corners = project_points(proba2_like().corners @ rotation.T + translation, K)
    rows, cols = np.nonzero(outline)
    assert cols.min() >= np.floor(corners[:, 0].min()) - 1
    assert cols.max() <= np.ceil(corners[:, 0].max()) + 1
    assert rows.min() >= np.floor(corners[:, 1].min()) - 1
    assert rows.max() <= np.ceil(corners[:, 1].max()) + 1
    no_axes = draw_pose(blank, rotation, translation, K, axis_length=0)
    assert not any(np.all(no_axes == c, axis=-1).any() for c in AXIS_COLORS)


def test_draw_pose_on_resized_image_uses_scaled_K():
    rotation, translation = _pose()
    scale = np.diag([256 / 1280, 256 / 720, 1.0])
    image = draw_pose(np.zeros((256, 256, 3), np.uint8), rotation, translation, scale @ K,
                      axis_length=0.8)
    tip = rotation[:, 0] * 0.6 + translation
    assert _has_color_near(image, *project_points(tip, scale @ K), AXIS_COLORS[0])
    full = draw_pose(np.zeros((720, 1280, 3), np.uint8), rotation, translation, K)
    assert np.all(full == OUTLINE_COLOR, axis=-1).sum() > 3 * np.all(
        image == OUTLINE_COLOR, axis=-1).sum()
