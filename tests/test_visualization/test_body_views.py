"""Three-view picture and pose overlay of a box-less (reconstructed) body."""
import numpy as np

from sparkpose.structures.body_model import BodyModel
from sparkpose.visualization.body_views import draw_three_views
from sparkpose.visualization.drawing import draw_pose


def point_body() -> BodyModel:
    points = np.array([[0.5, 0, 0], [-0.5, 0, 0], [0, 0.3, 0], [0, -0.3, 0], [0, 0, 0.4]])
    return BodyModel('dots', (), points[:4], ('a', 'b', 'c', 'd'), points=points)


def test_three_views_mark_keypoints_in_every_panel():
    image = np.asarray(draw_three_views(point_body(), panel=200))
    assert image.shape == (200, 600, 3)
    red = (image[..., 0] > 200) & (image[..., 1] < 60) & (image[..., 2] < 60)
    for k in range(3):
        assert red[:, k * 200:(k + 1) * 200].any()


def test_pose_overlay_draws_the_points_of_a_box_less_body():
    K = np.array([[100.0, 0, 50], [0, 100, 50], [0, 0, 1]])
    image = np.full((100, 100, 3), 255, np.uint8)
    out = draw_pose(image, np.eye(3), np.array([0, 0, 5.0]), K, point_body(),
                    axis_length=0, outline_color=(0, 0, 0))
    # The point (0.5, 0, 0) at 5 m lands on pixel (60, 50).
    assert (out[49:51, 59:61] == 0).all(axis=-1).any()
    assert (out == 0).all(axis=-1).sum() >= 4
