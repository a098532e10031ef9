"""Three orthographic views of a body model with its keypoints marked and named (PIL only).

Used to check a reconstructed ``body.json`` by eye: the shape (points, or box edges) seen
along body z, y and x, with every keypoint as a red dot and its name.
"""
import numpy as np
from PIL import Image, ImageDraw

from sparkpose.structures.body_model import BodyModel

# (horizontal axis, vertical axis, title) of each view; vertical axes point up.
VIEWS = ((0, 1, 'along -z: x right, y up'), (0, 2, 'along +y: x right, z up'),
         (1, 2, 'along -x: y right, z up'))
SHAPE_COLOR = (90, 90, 90)
KEYPOINT_COLOR = (220, 30, 30)


def draw_three_views(body: BodyModel, panel: int = 420) -> Image.Image:
    """A ``(3 · panel) × panel`` RGB picture: the body seen along z, y and x, same scale.

    Args:
        body: The model; its points are drawn as dots, its boxes as edges.
        panel: Side of each view in pixels.
    """
    shape = np.concatenate([body.points, body.wireframe().reshape(-1, 3),
                            body.keypoints]).reshape(-1, 3)
    half = float(np.abs(shape).max()) * 1.15 or 1.0
    scale = panel / (2 * half)
    image = Image.new('RGB', (3 * panel, panel), 'white')
    draw = ImageDraw.Draw(image)

    def pixel(points: np.ndarray, h: int, v: int, offset: int) -> np.ndarray:
        return np.column_stack([offset + (points[:, h] + half) * scale,
                                (half - points[:, v]) * scale])

    for k, (h, v, title) in enumerate(VIEWS):
        offset = k * panel
        draw.rectangle([offset, 0, offset + panel - 1, panel - 1], outline=(200, 200, 200))
        draw.text((offset + 4, 4), f'{body.name}: {title}', fill=(0, 0, 0))
        for x, y in pixel(body.points, h, v, offset):
            draw.point((x, y), fill=SHAPE_COLOR)
        for start, end in body.wireframe():
            a, b = pixel(np.stack([start, end]), h, v, offset)
            draw.line([tuple(a), tuple(b)], fill=SHAPE_COLOR)
        for (x, y), name in zip(pixel(body.keypoints, h, v, offset), body.keypoint_names):
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=KEYPOINT_COLOR)
            draw.text((x + 4, y - 5), name, fill=KEYPOINT_COLOR)
    return image
