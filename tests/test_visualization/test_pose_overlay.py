import numpy as np
import pytest
import torch

from sparkpose.datasets import SPADES_CAMERA
from sparkpose.structures import PoseDataSample, proba2_like, quaternion_to_matrix
from sparkpose.visualization import (
    GT_COLOR,
    OFF_COLOR,
    ON_COLOR,
    PRED_COLOR,
    project_points,
    render_pose_sample,
    sample_id,
    upscale_factor,
    voxel_grid_to_rgb,
)

K_SENSOR = np.asarray(SPADES_CAMERA['cameraMatrix'], np.float64)
INPUT_SIZE = (128, 96)  # (W, H): a different scale per axis, as for 1280×720 → 128×96
K_INPUT = np.diag([INPUT_SIZE[0] / 1280, INPUT_SIZE[1] / 720, 1.0]) @ K_SENSOR
GT_Q = torch.tensor([0.3, -0.4, 0.1, 0.85])
GT_T = torch.tensor([0.3, -0.2, 7.0])


def _colour_mask(image: np.ndarray, colour) -> np.ndarray:
    return np.all(image == colour, axis=-1)


def _sample(pred_t=None, pred_q=None, gt=True) -> PoseDataSample:
    sample = PoseDataSample(metainfo=dict(seq_id='RT003', label_index=7, cam_K=K_INPUT,
                                          input_size=INPUT_SIZE))
    if gt:
        sample.gt_t, sample.gt_q = GT_T, GT_Q / GT_Q.norm()
    if pred_t is not None:
        sample.pred_t, sample.pred_q = pred_t, pred_q
    return sample


def test_voxel_grid_to_rgb_colours_by_polarity():
    grid = np.zeros((4, 3, 5), np.float32)  # 2 ON bins, 2 OFF bins
    grid[0, 0, 0] = grid[1, 0, 0] = 2.0  # ON sum 4: the brightest, full colour
    grid[2, 1, 1] = 4.0  # OFF sum 4
    grid[1, 2, 2] = 1.0  # ON sum 1
    image = voxel_grid_to_rgb(torch.from_numpy(grid))
    assert image.shape == (3, 5, 3) and image.dtype == np.uint8
    assert tuple(image[0, 0]) == ON_COLOR
    assert tuple(image[1, 1]) == OFF_COLOR
    # The 99th percentile of (4, 4, 1) is 4: a quarter of the way from white to red.
    np.testing.assert_allclose(image[2, 2], 255 - 0.25 * (255 - np.array(ON_COLOR)), atol=0.5)
    assert np.all(image[0, 1:] == 255)  # empty cells stay white


def test_voxel_grid_to_rgb_rejects_odd_channel_count():
    with pytest.raises(ValueError, match=r'C even.*\(3, 4, 4\)'):
        voxel_grid_to_rgb(np.zeros((3, 4, 4)))


def test_upscale_factor_and_sample_id():
    assert upscale_factor((128, 128), 512) == 4
    assert upscale_factor((128, 96), 500) == 4  # ceil(500 / 128)
    assert upscale_factor((1280, 720), 512) == 1
    assert sample_id(_sample()) == 'RT003_007'


def test_render_draws_gt_where_its_events_are():
    """Events at the input pixels of the body's corners; the GT wireframe must run through
    the same places in the upscaled picture (i.e. K is scaled with the picture)."""
    rotation = quaternion_to_matrix(GT_Q.double() / GT_Q.norm()).numpy()
    corners = proba2_like().wireframe().reshape(-1, 3) @ rotation.T + GT_T.double().numpy()
    uv = project_points(corners, K_INPUT)  # continuous input-pixel coordinates
    grid = np.zeros((2, INPUT_SIZE[1], INPUT_SIZE[0]), np.float32)
    cells = np.floor(uv).astype(int)
    grid[0, cells[:, 1], cells[:, 0]] = 1.0

    image = render_pose_sample(grid, _sample(), min_size=512, axis_length=0)
    events_only = render_pose_sample(grid, _sample(gt=False), min_size=512)
    k = 4
    assert image.shape == events_only.shape == (INPUT_SIZE[1] * k, INPUT_SIZE[0] * k, 3)
    assert _colour_mask(image, GT_COLOR).sum() > 100
    for u, v in uv * k:  # the corners in the picture's pixel coordinates
        x, y = int(u), int(v)
        assert tuple(events_only[y, x]) == ON_COLOR
        assert _colour_mask(image[y - 1:y + 2, x - 1:x + 2], GT_COLOR).any()
    assert not _colour_mask(image, PRED_COLOR).any()  # no prediction in the sample


def test_render_prediction_and_caption():
    grid = np.zeros((10, INPUT_SIZE[1], INPUT_SIZE[0]), np.float32)
    pred_t = GT_T + torch.tensor([0.5, 0.0, 0.0])
    picture = render_pose_sample(grid, _sample(pred_t, GT_Q), min_size=256)
    assert picture.shape == (96 * 2, 128 * 2, 3)
    gt_cols = np.nonzero(_colour_mask(picture, GT_COLOR))[1]
    pred_cols = np.nonzero(_colour_mask(picture, PRED_COLOR))[1]
    assert len(gt_cols) > 50 and len(pred_cols) > 50
    # 0.5 m to the right at 7 m: fx' · 0.5 / 7 · k = 125.9 · 0.0714 · 2 ≈ 18 px.
    assert np.mean(pred_cols) - np.mean(gt_cols) == pytest.approx(18.0, abs=3)

    without_gt = render_pose_sample(grid, _sample(pred_t, GT_Q), draw_gt=False, min_size=256)
    assert not _colour_mask(without_gt, GT_COLOR).any()
    # The caption (top-left, black) is longer with the errors written in.
    caption_width = [np.nonzero(np.all(img[:20] < 100, axis=2).any(0))[0].max()
                     for img in (picture, without_gt)]
    assert caption_width[0] > caption_width[1] + 40


def test_caption_fits_the_picture_of_a_small_crop():
    # A 64x64 crop is upscaled 8x to 512 px; the caption must stay inside it.
    grid = np.zeros((10, 64, 64), np.float32)
    sample = PoseDataSample(metainfo=dict(seq_id='RT003', label_index=7, cam_K=K_INPUT / 2,
                                          input_size=(64, 64)))
    sample.gt_t, sample.gt_q = GT_T, GT_Q / GT_Q.norm()
    sample.pred_t, sample.pred_q = GT_T + 0.5, GT_Q / GT_Q.norm()
    picture = render_pose_sample(grid, sample, min_size=512)
    assert picture.shape == (512, 512, 3)
    text_cols = np.nonzero(np.all(picture[:30] < 100, axis=2).any(0))[0]
    assert text_cols.min() < 10 and 250 < text_cols.max() < 508
