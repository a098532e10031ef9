"""Render what the network saw (an event voxel grid) with ground-truth and predicted poses.

Used by :class:`~sparkpose.engine.hooks.PoseVisualizationHook` during validation and by
``tools/test.py --show-dir``. The grid is drawn at the input size, upscaled by an integer
factor ``k`` (nearest neighbour) so that it is legible; input pixel ``x`` then covers output
pixels ``[k·x, k·x + k)``, so the intrinsics of the drawn image are exactly
``diag(k, k, 1) · cam_K`` with ``cam_K`` the data sample's (already scaled to the input).
"""
import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from sparkpose.evaluation.functional import position_error, rotation_error_deg
from sparkpose.structures import PoseDataSample, quaternion_to_matrix
from sparkpose.structures.body_model import BodyModel

from .drawing import OFF_COLOR, ON_COLOR, draw_pose

GT_COLOR = (0, 170, 60)  # ground-truth wireframe
PRED_COLOR = (255, 140, 0)  # predicted wireframe
TEXT_COLOR = (0, 0, 0)


def _to_numpy(value: np.ndarray | torch.Tensor) -> np.ndarray:
    """A float64 numpy copy of a tensor on any device (or of an array)."""
    return torch.as_tensor(value).detach().cpu().double().numpy()


def voxel_grid_to_rgb(inputs: np.ndarray | torch.Tensor) -> np.ndarray:
    """Paint a voxel grid on white: summed ON bins in red, summed OFF bins in blue.

    Intensities are scaled by the 99th percentile of the non-zero sums, so a few busy
    pixels do not wash out the rest; pixels with both polarities get the mixed colour.

    Args:
        inputs: ``(C, H, W)`` grid, ``C`` even: channels ``[0, C/2)`` ON, ``[C/2, C)`` OFF.

    Returns:
        ``(H, W, 3)`` uint8 RGB image.
    """
    grid = _to_numpy(inputs)
    if grid.ndim != 3 or grid.shape[0] % 2:
        raise ValueError(f'voxel_grid_to_rgb: expected a (C, H, W) grid with C even (ON bins '
                         f'then OFF bins), got shape {grid.shape}')
    half = grid.shape[0] // 2
    sums = np.stack([grid[:half].sum(0), grid[half:].sum(0)])  # (2, H, W)
    sums = np.clip(sums, 0, None)  # noise augmentation can leave tiny negatives
    nonzero = sums[sums > 0]
    scale = np.percentile(nonzero, 99) if nonzero.size else 1.0
    alpha = np.clip(sums / scale, 0, 1)[..., None]  # (2, H, W, 1)
    darkening = (alpha[0] * (255 - np.asarray(ON_COLOR))
                 + alpha[1] * (255 - np.asarray(OFF_COLOR)))
    return np.clip(255 - darkening, 0, 255).round().astype(np.uint8)


def sample_id(data_sample: PoseDataSample) -> str:
    """``'<seq_id>_<label_index:03d>'`` (e.g. ``'RT000_007'``), the id of the predictions CSV."""
    return f'{data_sample.seq_id}_{int(data_sample.label_index):03d}'


def upscale_factor(size: tuple[int, int], min_size: int) -> int:
    """Smallest integer ``k >= 1`` with ``k · max(W, H) >= min_size``."""
    return max(1, math.ceil(min_size / max(size)))


def render_pose_sample(inputs: np.ndarray | torch.Tensor, data_sample: PoseDataSample,
                       draw_gt: bool = True, min_size: int = 512,
                       body: BodyModel | None = None, axis_length: float = 0.5) -> np.ndarray:
    """The input as an event image with the GT (green) and predicted (orange) wireframes.

    Each pose is drawn as the body's outline in its colour plus its body axes (x red,
    y green, z blue). A caption gives the sample's id and, with both poses, its position
    error (m) and rotation error (degrees).

    Args:
        inputs: ``(C, H, W)`` voxel grid the network saw (see :func:`voxel_grid_to_rgb`).
        data_sample: Its data sample: metainfo ``cam_K`` (intrinsics of the input),
            ``seq_id``, ``label_index``; ``pred_t`` / ``pred_q`` and ``gt_t`` / ``gt_q`` are
            drawn where present.
        draw_gt: Draw the ground truth when the sample has it.
        min_size: The image is upscaled by an integer factor until its longer side is at
            least this many pixels.
        body: BodyModel wireframe; the Proba-2-like model when ``None``.
        axis_length: Length of the drawn body axes (m); 0 draws none.

    Returns:
        ``(k·H, k·W, 3)`` uint8 RGB image.
    """
    image = voxel_grid_to_rgb(inputs)
    k = upscale_factor(image.shape[1::-1], min_size)
    image = image.repeat(k, axis=0).repeat(k, axis=1)
    K = np.diag([k, k, 1.0]) @ np.asarray(data_sample.cam_K, np.float64)
    width = max(1, k // 2)
    poses = []
    if draw_gt and data_sample.has_gt:
        poses.append((_to_numpy(data_sample.gt_t), _to_numpy(data_sample.gt_q), GT_COLOR))
    if 'pred_t' in data_sample and 'pred_q' in data_sample:
        poses.append((_to_numpy(data_sample.pred_t), _to_numpy(data_sample.pred_q), PRED_COLOR))
    for t, q, color in poses:
        rotation = quaternion_to_matrix(torch.from_numpy(q / np.linalg.norm(q))).numpy()
        image = draw_pose(image, rotation, t, K, body=body, axis_length=axis_length,
                          outline_color=color, width=width)
    caption = sample_id(data_sample)
    if len(poses) == 2:
        (gt_t, gt_q, _), (pred_t, pred_q, _) = poses
        caption += (f'  e_t {float(position_error(pred_t, gt_t)):.3f} m'
                    f'  e_q {float(rotation_error_deg(pred_q, gt_q)):.1f} deg')
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 2), caption, fill=TEXT_COLOR,
              font=fitting_font(draw, caption, canvas.width - 8, max(10, 6 * k)))
    return np.asarray(canvas)


def fitting_font(draw: ImageDraw.ImageDraw, text: str, width: int, size: int
                 ) -> ImageFont.ImageFont:
    """The default font at ``size``, or smaller (down to 8 px) until ``text`` fits ``width``."""
    font = ImageFont.load_default(size=size)
    while size > 8 and draw.textlength(text, font=font) > width:
        size -= 1
        font = ImageFont.load_default(size=size)
    return font
