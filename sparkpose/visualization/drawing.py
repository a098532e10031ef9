"""Draw events and projected poses on images (numpy + PIL, no plotting library).

Pure functions, shared by the visualisation tool and the training hooks. ``K`` is the
intrinsics of the image being drawn on: when that image is a network input of another
size, pass the scaled ``K`` (``diag(W_in / W, H_in / H, 1) · K``).
"""
import numpy as np
from PIL import Image, ImageDraw

from sparkpose.structures.body_model import BodyModel, proba2_like

ON_COLOR = (220, 30, 30)
OFF_COLOR = (30, 60, 220)
AXIS_COLORS = ((255, 0, 0), (0, 200, 0), (0, 0, 255))  # body x, y, z
OUTLINE_COLOR = (255, 200, 0)


def events_to_rgb(x: np.ndarray, y: np.ndarray, p: np.ndarray,
                  size: tuple[int, int]) -> np.ndarray:
    """Paint events on a white image: ON red, OFF blue, later events over earlier ones.

    Args:
        x: ``(N,)`` integer columns.
        y: ``(N,)`` integer rows.
        p: ``(N,)`` polarities, 1 ON, 0 OFF.
        size: Image ``(W, H)``; events outside it are ignored.

    Returns:
        ``(H, W, 3)`` uint8 RGB image.
    """
    width, height = size
    x, y, p = np.asarray(x, np.int64), np.asarray(y, np.int64), np.asarray(p)
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    image = np.full((height, width, 3), 255, np.uint8)
    # Fancy assignment keeps the last write for repeated pixels: later events win.
    image[y[inside], x[inside]] = np.where(p[inside, None] > 0, ON_COLOR, OFF_COLOR)
    return image


def project_points(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Project camera-frame points to continuous pixel coordinates ``K · p / z``.

    Args:
        points_cam: ``(..., 3)`` points in the camera frame (m), ``z > 0``.
        K: ``(3, 3)`` intrinsics of the target image.

    Returns:
        ``(..., 2)`` pixel coordinates ``(u, v)``; pixel ``(x, y)`` covers ``[x, x + 1)``.
    """
    points_cam = np.asarray(points_cam, np.float64)
    uvw = points_cam @ np.asarray(K, np.float64).T
    return uvw[..., :2] / uvw[..., 2:3]


def draw_pose(image: np.ndarray, rotation: np.ndarray, translation: np.ndarray, K: np.ndarray,
              body: BodyModel | None = None, axis_length: float = 0.5,
              outline_color: tuple[int, int, int] = OUTLINE_COLOR,
              width: int = 1) -> np.ndarray:
    """Overlay a pose: the body's wireframe outline and its axes (x red, y green, z blue).

    A box-less body (reconstructed, ``body.points``) is drawn as its points instead.

    Args:
        image: ``(H, W, 3)`` uint8 RGB image (not modified).
        rotation: ``(3, 3)`` body-to-camera rotation.
        translation: ``(3,)`` body origin in the camera frame (m).
        K: ``(3, 3)`` intrinsics of ``image`` (scaled if the image was resized).
        body: BodyModel whose wireframe is drawn; the Proba-2-like model when ``None``.
        axis_length: Length of the drawn body axes (m); 0 draws none.
        outline_color: RGB colour of the wireframe.
        width: Line width in pixels.

    Returns:
        A new ``(H, W, 3)`` uint8 image with the overlay. Segments with an end behind the
        camera are skipped.
    """
    body = body or proba2_like()
    rotation = np.asarray(rotation, np.float64)
    translation = np.asarray(translation, np.float64)
    canvas = Image.fromarray(np.ascontiguousarray(image, np.uint8))
    draw = ImageDraw.Draw(canvas)
    axes = axis_length * np.stack([np.zeros((3, 3)), np.eye(3)], axis=1)  # (3, 2, 3)
    segments = np.concatenate([body.wireframe(), axes]) @ rotation.T + translation
    colors = [outline_color] * (len(segments) - 3) + list(AXIS_COLORS)
    if axis_length <= 0:
        segments, colors = segments[:-3], colors[:-3]
    # PIL puts integer coordinates on pixel centres; ours are at x + 0.5.
    pixels = project_points(segments, K) - 0.5
    for (start, end), (z0, z1), color in zip(pixels, segments[..., 2], colors):
        if z0 > 0 and z1 > 0:
            draw.line([tuple(start), tuple(end)], fill=color, width=width)
    if not body.boxes:
        points = body.points @ rotation.T + translation
        for u, v in (project_points(points, K) - 0.5)[points[:, 2] > 0]:
            draw.point((u, v), fill=outline_color)
    return np.asarray(canvas)
