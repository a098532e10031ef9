"""Ray-cast a box spacecraft into an intensity image (Lambertian, self-shadowed).

Rays go through pixel centres ``(x + 0.5, y + 0.5)`` (the project's pixel convention), so
with ``cx = W / 2`` the render of the mirrored scene is exactly the mirrored render. Each box
is cast only where its projected outline lies (row by row), and the per-pixel work (ray-box
slab tests, shading, shadow rays) runs in compiled kernels (costs: docs/performance.md).
"""
import functools

import numba
import numpy as np

from sparkpose.structures.body_model import BodyModel

# Darker solar-cell grid lines: width (m) and the factor they multiply the albedo by.
_GRID_LINE_WIDTH = 0.012
_GRID_LINE_FACTOR = 0.5
# Shadow rays start this far (m) off the surface, so a face never shadows itself.
_SHADOW_EPS = 1e-4


@numba.njit(cache=True, error_model='numpy', inline='always')
def _slab(lo_x, lo_y, lo_z, hi_x, hi_y, hi_z, inv_x, inv_y, inv_z):
    """Slab test of one ray against one box given relative to the ray's origin.

    Args:
        lo_*, hi_*: Box min and max corner minus the ray origin, per axis.
        inv_*: Reciprocal ray direction per axis (``inf`` along a parallel axis).

    Returns:
        ``(t_near, t_far, near_axis)``: entry and exit ray parameters and the entry face's
        axis (the first axis whose entry parameter is the largest).
    """
    t1, t2 = lo_x * inv_x, hi_x * inv_x
    t_near, t_far, near_axis = min(t1, t2), max(t1, t2), 0
    t1, t2 = lo_y * inv_y, hi_y * inv_y
    if min(t1, t2) > t_near:
        t_near, near_axis = min(t1, t2), 1
    t_far = min(t_far, max(t1, t2))
    t1, t2 = lo_z * inv_z, hi_z * inv_z
    if min(t1, t2) > t_near:
        t_near, near_axis = min(t1, t2), 2
    return t_near, min(t_far, max(t1, t2)), near_axis


@numba.njit(cache=True, inline='always')
def _row_span(corners_uv, v):
    """Columns ``[c0, c1)`` whose pixel centres on the image line ``v`` may see a box.

    A convex box projects to the convex hull of its corners, whose outline is made of
    projected edges; the line meets the hull between the extreme crossings of the 12
    edges (corner ``a`` joins ``a | bit`` for each bit not set in ``a``). One column of
    margin on each side absorbs rounding.
    """
    low, high = np.inf, -np.inf
    for a in range(8):
        for bit in (1, 2, 4):
            if a & bit:
                continue
            ua, va = corners_uv[a, 0], corners_uv[a, 1]
            ub, vb = corners_uv[a | bit, 0], corners_uv[a | bit, 1]
            if (va - v) * (vb - v) > 0:
                continue
            if va == vb:
                low, high = min(low, ua, ub), max(high, ua, ub)
            else:
                u = ua + (v - va) * (ub - ua) / (vb - va)
                low, high = min(low, u), max(high, u)
    if low > high:
        return 0, 0
    return int(np.floor(low - 0.5)) - 1, int(np.ceil(high - 0.5)) + 2


@numba.njit(cache=True, error_model='numpy')
def _cast_kernel(relative, rects, corners_uv, x0, y0, width, height, rot_bc, intrinsics):
    """Nearest hit per pixel of the ``(height, width)`` rectangle at ``(x0, y0)``.

    Args:
        relative: ``(B, 2, 3)`` box min and max corners minus the camera centre, body axes.
        rects: ``(B, 4)`` pixel rectangles the boxes can cover, end exclusive.
        corners_uv: ``(B, 8, 2)`` projected box corners (pixels), ordered as
            :attr:`~sparkpose.structures.body_model.Box.corners`.

    Returns:
        ``(depth, box_id, entry_axis)``: camera depth (m, ``inf`` for a miss), the hit box
        (-1 for a miss) and the body axis of the face the ray enters through.
    """
    fx, fy, cx, cy = intrinsics[0], intrinsics[1], intrinsics[2], intrinsics[3]
    # Reciprocal ray directions in body axes; camera z = 1, so the ray parameter is depth.
    inv = np.empty((3, height, width))
    for r in range(height):
        dy = (r + y0 + 0.5 - cy) / fy
        for c in range(width):
            dx = (c + x0 + 0.5 - cx) / fx
            for a in range(3):
                inv[a, r, c] = 1.0 / (rot_bc[a, 0] * dx + rot_bc[a, 1] * dy + rot_bc[a, 2])
    depth = np.full((height, width), np.inf)
    box_id = np.full((height, width), -1, np.int8)
    entry_axis = np.zeros((height, width), np.int8)
    for i in range(len(relative)):
        lo, hi = relative[i, 0], relative[i, 1]
        for r in range(rects[i, 1] - y0, rects[i, 3] - y0):
            c0, c1 = _row_span(corners_uv[i], r + y0 + 0.5)
            c0, c1 = max(c0, rects[i, 0]) - x0, min(c1, rects[i, 2]) - x0
            for c in range(c0, c1):
                t_near, t_far, axis = _slab(lo[0], lo[1], lo[2], hi[0], hi[1], hi[2],
                                            inv[0, r, c], inv[1, r, c], inv[2, r, c])
                if t_near <= t_far and t_near > 0 and t_near < depth[r, c]:
                    depth[r, c] = t_near
                    box_id[r, c] = i
                    entry_axis[r, c] = axis
    return depth, box_id, entry_axis


@numba.njit(cache=True, error_model='numpy')
def _shade_kernel(depth, box_id, entry_axis, x0, y0, rot_bc, origin, intrinsics, sun,
                  boxes, shadows, ambient):
    """Lambertian intensity with cell grids and cast shadows of every hit pixel.

    Args:
        boxes: ``(bounds (B, 2, 3), albedo (B,), grid pitch (B,))``.
        shadows: ``(basis, outline, may_shadow)``: ``(3, 3)`` rows the Sun direction and
            two axes across it; ``(B, 3, 2)`` each box's extent along those rows;
            ``(B, B)`` whether box ``j`` reaches higher towards the Sun than box ``i``'s
            lowest point. A shadow ray is tested exactly only against boxes that may
            shadow and whose outline seen from the Sun holds its start point.
    """
    bounds, albedo, pitch = boxes
    basis, outline, may_shadow = shadows
    fx, fy, cx, cy = intrinsics[0], intrinsics[1], intrinsics[2], intrinsics[3]
    height, width = depth.shape
    image = np.zeros((height, width), np.float32)
    inv_x, inv_y, inv_z = 1.0 / sun[0], 1.0 / sun[1], 1.0 / sun[2]
    point = np.empty(3)
    for r in range(height):
        dy = (r + y0 + 0.5 - cy) / fy
        for c in range(width):
            i = box_id[r, c]
            if i < 0:
                continue
            dx = (c + x0 + 0.5 - cx) / fx
            axis = entry_axis[r, c]
            along = 0.0  # the ray's component along the entry axis
            for a in range(3):
                ray = rot_bc[a, 0] * dx + rot_bc[a, 1] * dy + rot_bc[a, 2]
                point[a] = origin[a] + depth[r, c] * ray
                if a == axis:
                    along = ray
            # The entry face looks against the ray: +axis when the ray runs towards -axis.
            normal_sign = 1.0 if along < 0 else -1.0
            lambert = max(normal_sign * sun[axis], 0.0)
            value = albedo[i]
            if pitch[i] > 0:
                for a in range(3):  # the coordinate along the normal is not a grid line
                    g = point[a] / pitch[i]
                    if a != axis and abs(g - np.floor(g + 0.5)) * pitch[i] \
                            < _GRID_LINE_WIDTH / 2:
                        value *= _GRID_LINE_FACTOR
                        break
            if lambert > 0:
                point[axis] += _SHADOW_EPS * normal_sign
                u = basis[1, 0] * point[0] + basis[1, 1] * point[1] + basis[1, 2] * point[2]
                v = basis[2, 0] * point[0] + basis[2, 1] * point[1] + basis[2, 2] * point[2]
                for j in range(len(bounds)):
                    if not may_shadow[i, j] or u < outline[j, 1, 0] or u > outline[j, 1, 1] \
                            or v < outline[j, 2, 0] or v > outline[j, 2, 1]:
                        continue
                    t_near, t_far, _ = _slab(
                        bounds[j, 0, 0] - point[0], bounds[j, 0, 1] - point[1],
                        bounds[j, 0, 2] - point[2], bounds[j, 1, 0] - point[0],
                        bounds[j, 1, 1] - point[1], bounds[j, 1, 2] - point[2],
                        inv_x, inv_y, inv_z)
                    if t_near <= t_far and t_far > 0:
                        lambert = 0.0
                        break
            image[r, c] = value * (ambient + (1 - ambient) * lambert)
    return image


@functools.cache  # a body model is immutable and compares by identity
def _box_arrays(body: BodyModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bounds (B, 2, 3), albedo (B,), grid pitch (B,))`` float64 arrays of the boxes."""
    return (np.stack([box.bounds for box in body.boxes]),
            np.array([box.albedo for box in body.boxes], np.float64),
            np.array([box.grid_pitch for box in body.boxes], np.float64))


def _project_boxes(body: BodyModel, rot_bc: np.ndarray, translation: np.ndarray,
                   K: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(B, 4)`` pixel rectangles ``(x0, y0, x1, y1)`` (end exclusive) of the boxes and
    their ``(B, 8, 2)`` projected corners."""
    corners_cam = body.corners @ rot_bc + translation
    if np.any(corners_cam[:, 2] <= 1e-3):
        raise ValueError(f'body is behind or at the camera (corner depth '
                         f'{corners_cam[:, 2].min():.3g} m); the renderer needs z > 0')
    uv = (corners_cam @ K[:2].T / corners_cam[:, 2:3]).reshape(len(body.boxes), 8, 2)
    low = np.clip(np.floor(uv.min(1)).astype(np.int64), 0, size)
    high = np.clip(np.ceil(uv.max(1)).astype(np.int64), 0, size)
    return np.concatenate([low, high], axis=1), uv


@numba.njit(cache=True)
def _shadow_geometry(corners, sun):
    """``(basis, outline, may_shadow)`` for :func:`_shade_kernel` (see there).

    Args:
        corners: ``(B, 8, 3)`` box corners, body frame.
        sun: ``(3,)`` unit direction towards the Sun, body frame.
    """
    # Rows: the Sun direction and two unit normals to it (crossed with the axis the Sun is
    # least along, which keeps the cross product well away from zero).
    helper = np.zeros(3)
    helper[np.argmin(np.abs(sun))] = 1.0
    basis = np.empty((3, 3))
    basis[0] = sun
    basis[1] = np.cross(sun, helper)
    basis[1] /= np.sqrt(np.sum(basis[1] ** 2))
    basis[2] = np.cross(sun, basis[1])
    num_boxes = len(corners)
    outline = np.empty((num_boxes, 3, 2))
    for i in range(num_boxes):
        for k in range(3):
            extent = corners[i, :, 0] * basis[k, 0] + corners[i, :, 1] * basis[k, 1] \
                + corners[i, :, 2] * basis[k, 2]
            outline[i, k, 0], outline[i, k, 1] = extent.min(), extent.max()
    may_shadow = np.zeros((num_boxes, num_boxes), np.bool_)
    for i in range(num_boxes):
        for j in range(num_boxes):
            may_shadow[i, j] = i != j and outline[i, 0, 0] < outline[j, 0, 1]
    return basis, outline, may_shadow


def render_region(body: BodyModel, rotation: np.ndarray, translation: np.ndarray,
                  K: np.ndarray, size: tuple[int, int], sun_direction: np.ndarray,
                  ambient: float = 0.05) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Render only the rectangle the body can cover.

    Args:
        body: The spacecraft.
        rotation: ``(3, 3)`` body-to-camera rotation.
        translation: ``(3,)`` body origin in the camera frame (m), OpenCV axes.
        K: ``(3, 3)`` intrinsics without skew.
        size: Image ``(W, H)`` in pixels.
        sun_direction: ``(3,)`` direction towards the Sun in the camera frame.
        ambient: Fraction of the albedo seen on faces the Sun does not light (Earth shine).

    Returns:
        ``(crop, (x0, y0, x1, y1))``: ``(y1 - y0, x1 - x0)`` float32 intensities in
        ``[0, 1]`` of the image rows ``y0:y1`` and columns ``x0:x1``; zero (black) elsewhere.
    """
    K = np.asarray(K, np.float64)
    if K[0, 1] != 0:
        raise ValueError(f'renderer expects intrinsics without skew, got K[0, 1] = {K[0, 1]}')
    rot_bc = np.ascontiguousarray(np.asarray(rotation, np.float64).T)  # camera -> body
    translation = np.asarray(translation, np.float64)
    origin = -rot_bc @ translation
    sun = np.asarray(sun_direction, np.float64)
    sun = rot_bc @ (sun / np.linalg.norm(sun))
    rects, corners_uv = _project_boxes(body, rot_bc, translation, K, size)
    x0, y0 = rects[:, 0].min(), rects[:, 1].min()
    x1, y1 = max(rects[:, 2].max(), x0), max(rects[:, 3].max(), y0)
    # Empty rectangles (a box outside the image) cast no ray.
    rects[:, 2:] = np.maximum(rects[:, 2:], rects[:, :2])
    intrinsics = np.array([K[0, 0], K[1, 1], K[0, 2], K[1, 2]])
    boxes = _box_arrays(body)
    depth, box_id, entry_axis = _cast_kernel(boxes[0] - origin, rects, corners_uv, x0, y0,
                                             x1 - x0, y1 - y0, rot_bc, intrinsics)
    image = _shade(body, boxes, depth, box_id, entry_axis, (x0, y0), rot_bc, origin,
                   intrinsics, sun, ambient)
    return image, (int(x0), int(y0), int(x1), int(y1))


def _shade(body, boxes, depth, box_id, entry_axis, corner, rot_bc, origin, intrinsics, sun,
           ambient):
    """Shading, grid lines and shadow rays of the cast rectangle (see :func:`_shade_kernel`)."""
    shadows = _shadow_geometry(body.corners.reshape(-1, 8, 3), sun)
    return _shade_kernel(depth, box_id, entry_axis, corner[0], corner[1], rot_bc, origin,
                         intrinsics, sun, boxes, shadows, float(ambient))


def render(body: BodyModel, rotation: np.ndarray, translation: np.ndarray, K: np.ndarray,
           size: tuple[int, int], sun_direction: np.ndarray, ambient: float = 0.05
           ) -> np.ndarray:
    """Render the full ``(H, W)`` float32 intensity image; arguments as :func:`render_region`."""
    crop, (x0, y0, x1, y1) = render_region(body, rotation, translation, K, size,
                                           sun_direction, ambient)
    image = np.zeros(size[::-1], np.float32)
    image[y0:y1, x0:x1] = crop
    return image
