"""Ray-cast a box spacecraft into an intensity image (numpy, Lambertian, self-shadowed).

Rays go through pixel centres ``(x + 0.5, y + 0.5)`` (the project's pixel convention), so
with ``cx = W / 2`` the render of the mirrored scene is exactly the mirrored render. Each box
is cast only inside its projected bounding rectangle, which keeps a 1280×720 frame at a few
tens of milliseconds.
"""
import numpy as np

from sparkpose.structures.body_model import BodyModel

# Darker solar-cell grid lines: width (m) and the factor they multiply the albedo by.
_GRID_LINE_WIDTH = 0.012
_GRID_LINE_FACTOR = 0.5
# Shadow rays start this far (m) off the surface, so a face never shadows itself.
_SHADOW_EPS = 1e-4


def _slab(origin: np.ndarray, inv_dir: tuple, bounds: np.ndarray):
    """Ray/box slab test. ``origin`` and ``inv_dir`` hold three broadcastable components.

    Returns:
        ``(t_near, t_far, near_axis)``: entry and exit ray parameters and the axis of the
        entry face.
    """
    t_min, t_max = [], []
    for axis in range(3):
        t1 = (bounds[0, axis] - origin[axis]) * inv_dir[axis]
        t2 = (bounds[1, axis] - origin[axis]) * inv_dir[axis]
        t_min.append(np.minimum(t1, t2))
        t_max.append(np.maximum(t1, t2))
    t_near = np.maximum(np.maximum(t_min[0], t_min[1]), t_min[2])
    t_far = np.minimum(np.minimum(t_max[0], t_max[1]), t_max[2])
    near_axis = np.where(t_min[0] == t_near, 0, np.where(t_min[1] == t_near, 1, 2))
    return t_near, t_far, near_axis


def _project_rect(corners_cam: np.ndarray, K: np.ndarray, size: tuple[int, int]):
    """Pixel rectangle ``(x0, y0, x1, y1)`` (end exclusive) holding projected corners."""
    if np.any(corners_cam[:, 2] <= 1e-3):
        raise ValueError(f'body is behind or at the camera (corner depth '
                         f'{corners_cam[:, 2].min():.3g} m); the renderer needs z > 0')
    uv = corners_cam @ K[:2].T / corners_cam[:, 2:3]
    x0, y0 = np.clip(np.floor(uv.min(0)).astype(int), 0, size)
    x1, y1 = np.clip(np.ceil(uv.max(0)).astype(int), 0, size)
    return x0, y0, x1, y1


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
    rot_bc = np.asarray(rotation, np.float64).T  # camera -> body
    origin = -rot_bc @ np.asarray(translation, np.float64)
    sun = rot_bc @ (np.asarray(sun_direction, np.float64) / np.linalg.norm(sun_direction))
    rects = [_project_rect(box.corners @ rot_bc + translation, K, size) for box in body.boxes]
    # float32 throughout the per-pixel work: half the memory traffic of float64.
    rot32, origin32 = rot_bc.astype(np.float32), origin.astype(np.float32)
    x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
    x1, y1 = max(max(r[2] for r in rects), x0), max(max(r[3] for r in rects), y0)

    depth = np.full((y1 - y0, x1 - x0), np.inf, np.float32)
    box_id = np.full(depth.shape, -1, np.int8)
    entry_axis = np.zeros(depth.shape, np.int8)  # body axis of the face a ray enters through
    for i, (box, (bx0, by0, bx1, by1)) in enumerate(zip(body.boxes, rects)):
        if bx0 >= bx1 or by0 >= by1:
            continue
        # Ray directions (camera z = 1, so the ray parameter is the depth) in body axes.
        dx = ((np.arange(bx0, bx1) + 0.5 - K[0, 2]) / K[0, 0]).astype(np.float32)
        dy = ((np.arange(by0, by1) + 0.5 - K[1, 2]) / K[1, 1]).astype(np.float32)[:, None]
        with np.errstate(divide='ignore', invalid='ignore'):
            inv_dir = [1 / (rot32[j, 0] * dx + rot32[j, 1] * dy + rot32[j, 2]) for j in range(3)]
            t_near, t_far, axis = _slab(origin32, inv_dir, box.bounds.astype(np.float32))
        window = (slice(by0 - y0, by1 - y0), slice(bx0 - x0, bx1 - x0))
        closer = (t_near <= t_far) & (t_near > 0) & (t_near < depth[window])
        np.copyto(depth[window], t_near, where=closer)
        box_id[window][closer] = i
        np.copyto(entry_axis[window], axis, where=closer, casting='unsafe')

    image = np.zeros(depth.shape, np.float32)
    rows, cols = np.nonzero(box_id >= 0)
    if len(rows):
        image[rows, cols] = _shade(body, rows + y0, cols + x0, depth[rows, cols],
                                   box_id[rows, cols], entry_axis[rows, cols], origin, rot_bc,
                                   sun, K, ambient)
    return image, (x0, y0, x1, y1)


def _shade(body, rows, cols, depth, box_id, axis, origin, rot_bc, sun, K, ambient):
    """Lambertian intensity of hit pixels, with cell grids and cast shadows."""
    index = np.arange(len(rows))
    dx = ((cols + 0.5 - K[0, 2]) / K[0, 0]).astype(np.float32)
    dy = ((rows + 0.5 - K[1, 2]) / K[1, 1]).astype(np.float32)
    rot32 = rot_bc.astype(np.float32)
    ray = rot32[:, :1] * dx + rot32[:, 1:2] * dy + rot32[:, 2:]  # (3, N) in body axes
    point = origin.astype(np.float32)[:, None] + depth * ray
    # The entry face looks against the ray: +axis when the ray runs towards -axis.
    normal_sign = np.where(ray[axis, index] < 0, np.float32(1), np.float32(-1))
    lambert = np.maximum(normal_sign * sun[axis].astype(np.float32), 0)
    albedo = np.array([box.albedo for box in body.boxes], np.float32)[box_id]
    pitch = np.array([box.grid_pitch for box in body.boxes], np.float32)[box_id]
    gridded = np.flatnonzero(pitch > 0)
    if len(gridded):
        grid = point[:, gridded] / pitch[gridded]
        near_line = np.abs(grid - np.round(grid)) * pitch[gridded] < _GRID_LINE_WIDTH / 2
        # The coordinate along the face normal is constant on the face: not a grid line.
        near_line[axis[gridded], np.arange(len(gridded))] = False
        albedo[gridded] *= np.where(near_line.any(0), _GRID_LINE_FACTOR, 1.0)
    lit = np.flatnonzero(lambert > 0)
    if len(lit):
        start = point[:, lit]
        start[axis[lit], np.arange(len(lit))] += _SHADOW_EPS * normal_sign[lit]
        lambert[lit[_in_shadow(body, start, box_id[lit], sun)]] = 0
    return albedo * (ambient + (1 - ambient) * lambert)


def _in_shadow(body: BodyModel, points: np.ndarray, box_id: np.ndarray,
               sun: np.ndarray) -> np.ndarray:
    """Whether rays from ``(3, N)`` body-frame points towards the Sun hit another box."""
    # Seen from the Sun, a point can only be shadowed by a box whose outline (bounded by the
    # rectangle of its corners in a plane normal to the Sun) holds it; the exact ray test
    # runs only on those candidates.
    basis = np.linalg.svd(sun[None])[2]  # rows: the Sun direction and two normals to it
    extent = np.stack([box.corners @ basis.T for box in body.boxes])  # (boxes, 8, 3)
    low, high = extent.min(1), extent.max(1)
    with np.errstate(divide='ignore'):
        inv_sun = (1 / sun).astype(np.float32)
    shadow = np.zeros(points.shape[1], bool)
    order = np.argsort(box_id, kind='stable')
    starts = np.searchsorted(box_id[order], np.arange(len(body.boxes) + 1))
    for i in range(len(body.boxes)):
        members = order[starts[i]:starts[i + 1]]
        if not len(members):
            continue
        # Coordinates across the Sun direction, written out: a BLAS product here would start
        # threads that cost more than they save on (3, 3) x (3, n).
        receiver = points[:, members]
        across = [sum(np.float32(basis[k, a]) * receiver[a] for a in range(3)) for k in (1, 2)]
        for j, occluder in enumerate(body.boxes):
            # The occluder must reach higher towards the Sun than the receiver's lowest point.
            if i == j or low[i, 0] >= high[j, 0]:
                continue
            candidates = np.flatnonzero((across[0] >= low[j, 1]) & (across[0] <= high[j, 1])
                                        & (across[1] >= low[j, 2]) & (across[1] <= high[j, 2]))
            if not len(candidates):
                continue
            with np.errstate(invalid='ignore'):
                t_near, t_far, _ = _slab(receiver[:, candidates], inv_sun,
                                         occluder.bounds.astype(np.float32))
            shadow[members[candidates[(t_near <= t_far) & (t_far > 0)]]] = True
    return shadow


def render(body: BodyModel, rotation: np.ndarray, translation: np.ndarray, K: np.ndarray,
           size: tuple[int, int], sun_direction: np.ndarray, ambient: float = 0.05
           ) -> np.ndarray:
    """Render the full ``(H, W)`` float32 intensity image; arguments as :func:`render_region`."""
    crop, (x0, y0, x1, y1) = render_region(body, rotation, translation, K, size,
                                           sun_direction, ambient)
    image = np.zeros(size[::-1], np.float32)
    image[y0:y1, x0:x1] = crop
    return image
