"""Keypoints and near-symmetries of a body known only as 3-D points (a reconstruction).

Symmetries are searched among the 24 rotations that map the body axes onto themselves:
SPADES labels, like a satellite's design frame, put the body axes along its structure, so
a rotation that maps the body onto itself is one of them. Keypoints are the structure's
corners: points where it ends along every body axis, which an event image shows as sharp
line ends. Corners of the parts that break the symmetries come first, so PnP can tell the
near-symmetric poses apart; a structure with too few corners is topped up with its
extreme points in 26 directions.
"""
import itertools

import numpy as np
from scipy.spatial import cKDTree

from .body_model import BodyModel, Box

# A rotation maps the body onto itself when this share of its points land on the body.
SYMMETRY_MATCH = 0.7


def axis_rotations() -> np.ndarray:
    """``(24, 3, 3)`` signed permutation matrices with det +1, the identity first."""
    mats = [np.eye(3)[list(perm)] * np.array(signs)[:, None]
            for perm in itertools.permutations(range(3))
            for signs in itertools.product((1, -1), repeat=3)]
    mats = [m + 0.0 for m in mats if np.linalg.det(m) > 0]  # + 0.0: no -0.0 in JSON
    mats.sort(key=lambda m: -np.trace(m))  # identity (trace 3) first
    return np.asarray(mats, np.float64)


def symmetry_match(points: np.ndarray, rotations: np.ndarray, tolerance: float) -> np.ndarray:
    """``(S,)`` share of ``points`` that each rotation maps within ``tolerance`` (m) of a point."""
    tree = cKDTree(points)
    return np.array([np.mean(tree.query(points @ r.T, distance_upper_bound=tolerance)[0]
                             <= tolerance) for r in rotations])


def find_symmetries(points: np.ndarray, tolerance: float,
                    match: float = SYMMETRY_MATCH) -> np.ndarray:
    """``(S, 3, 3)`` axis rotations mapping at least ``match`` of the points onto the body.

    A rotation is kept only with its inverse, so "modulo S" in the metrics is the same
    from either side.
    """
    rotations = axis_rotations()
    keep = symmetry_match(points, rotations, tolerance) >= match
    keep &= np.array([keep[_index_of(rotations, r.T)] for r in rotations])
    return rotations[keep]


def _index_of(rotations: np.ndarray, rotation: np.ndarray) -> int:
    return int(np.abs(rotations - rotation).max(axis=(1, 2)).argmin())


def asymmetric_points(points: np.ndarray, symmetries: np.ndarray,
                      tolerance: float) -> np.ndarray:
    """``(N,)`` bool: points that some symmetry maps farther than twice ``tolerance`` (m)
    from every point: they break it (twice, so reconstruction noise does not count)."""
    tree = cKDTree(points)
    broken = np.zeros(len(points), bool)
    for rotation in symmetries[1:]:
        broken |= tree.query(points @ rotation.T)[0] > 2 * tolerance
    return broken


def dense_points(points: np.ndarray, tolerance: float, min_neighbours: int = 5) -> np.ndarray:
    """The points with at least ``min_neighbours`` others within 1.5 ``tolerance`` (m):
    structure, not stray voxels, which would otherwise be the extremes keypoints seek."""
    counts = cKDTree(points).query_ball_point(points, 1.5 * tolerance, return_length=True)
    dense = points[counts > min_neighbours]
    return dense if len(dense) >= 8 else points


def _directions() -> tuple[np.ndarray, list[str]]:
    """The 26 directions to faces, edges and corners of a cube, with sign names (``+x-z``)."""
    dirs, names = [], []
    for signs in itertools.product((1, 0, -1), repeat=3):
        if any(signs):
            dirs.append(np.array(signs, float) / np.linalg.norm(signs))
            names.append(''.join(f'{"+" if s > 0 else "-"}{a}'
                                 for s, a in zip(signs, 'xyz') if s))
    return np.asarray(dirs), names


def extreme_points(points: np.ndarray, spacing: float) -> tuple[np.ndarray, list[str]]:
    """The point farthest along each of 26 directions, dropping ones within ``spacing`` (m)
    of one already chosen; names say the direction."""
    dirs, names = _directions()
    chosen, chosen_names = [], []
    order = np.argsort([-np.max(points @ d) for d in dirs])  # most protruding first
    for k in order:
        point = points[np.argmax(points @ dirs[k])]
        if all(np.linalg.norm(point - c) >= spacing for c in chosen):
            chosen.append(point)
            chosen_names.append(names[k])
    return np.asarray(chosen).reshape(-1, 3), chosen_names


def corner_points(points: np.ndarray, radius: float,
                  tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Corners: points whose neighbours within ``radius`` (m) lie on one side of them along
    each body axis (to ``tolerance`` / 2), as at the corner of a box or a plate.

    Unlike the extreme point in a direction, which slides along an edge facing it, a corner
    is one well-defined point of the image. Returns the corners, strongest first (by how
    far the two longest edges meeting there reach, capped at ``radius``), and their names,
    saying which way they point (``corner+x-y``; an axis the structure is thin along is
    left out).
    """
    slack = tolerance / 2
    corners, strengths, names = [], [], []
    for index, neighbours in enumerate(cKDTree(points).query_ball_point(points, radius)):
        if len(neighbours) < 6:  # a stray voxel, not structure
            continue
        offsets = points[neighbours] - points[index]
        low, high = -offsets.min(axis=0), offsets.max(axis=0)
        if np.any((low > slack) & (high > slack)):  # structure on both sides: not a corner
            continue
        reach = np.sort(np.maximum(low, high))
        corners.append(points[index])
        strengths.append(reach[1] + 1e-3 * reach[2])
        names.append('corner' + ''.join(f'{"+" if high[a] <= slack else "-"}{"xyz"[a]}'
                                        for a in range(3) if max(low[a], high[a]) > slack))
    order = np.argsort(strengths, kind='stable')[::-1]
    return np.asarray(corners).reshape(-1, 3)[order], np.asarray(names, dtype=str)[order]


def select_keypoints(points: np.ndarray, symmetries: np.ndarray, tolerance: float,
                     num_keypoints: int = 14) -> tuple[np.ndarray, list[str]]:
    """``num_keypoints`` named keypoints: corners, symmetry-breaking ones first.

    Up to ``max(2, num_keypoints // 6)`` corners of the parts that break a near-symmetry
    (``asym`` names) are taken a sixth of the body's extent apart; then the strongest
    corners at least twice ``tolerance`` (m) from those chosen. A structure with too few
    corners is topped up with its extreme points in 26 directions (``tip<dirs>``) and then
    with the points farthest from all chosen (``far<k>``).
    """
    core = dense_points(points, tolerance)
    broken = asymmetric_points(points, symmetries, tolerance)
    broken = dense_points(points[broken], tolerance) if broken.sum() >= 8 else points[:0]
    spacing = np.ptp(core, axis=0).max() / 6
    corners, corner_names = corner_points(core, 2.5 * tolerance, tolerance)
    breaks = (cKDTree(broken).query(corners, distance_upper_bound=tolerance)[0] <= tolerance
              if len(broken) and len(corners) else np.zeros(len(corners), bool))
    keypoints, names = [], []

    def take(candidates, candidate_names, prefix, gap, limit):
        for point, name in zip(candidates, candidate_names):
            if len(keypoints) >= limit:
                return
            if all(np.linalg.norm(point - k) >= gap for k in keypoints):
                keypoints.append(point)
                names.append(prefix + name.removeprefix('corner'))

    take(corners[breaks], corner_names[breaks], 'asym', spacing, max(2, num_keypoints // 6))
    take(corners[~breaks], corner_names[~breaks], 'corner', 2 * tolerance, num_keypoints)
    take(*extreme_points(core, 2 * tolerance), 'tip', 2 * tolerance, num_keypoints)
    while len(keypoints) < min(num_keypoints, len(core)):
        gaps = np.min(np.linalg.norm(core[:, None] - np.asarray(keypoints)[None], axis=2), 1)
        keypoints.append(core[np.argmax(gaps)])
        names.append(f'far{len(names)}')
    return np.asarray(keypoints), _unique(names)


def _unique(names: list[str]) -> list[str]:
    """Names made unique by a numeric suffix on repeats (``corner+x``, ``corner+x_1``)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        out.append(name if name not in seen else f'{name}_{seen[name]}')
        seen[name] = seen.get(name, 0) + 1
    return out


def body_from_points(points: np.ndarray, name: str, num_keypoints: int = 14,
                     tolerance: float = 0.04) -> BodyModel:
    """A box-less :class:`BodyModel` from structure points (m): symmetries, then keypoints.

    Args:
        points: ``(N, 3)`` body-frame points on the target's structure.
        name: Model name.
        num_keypoints: Keypoints wanted.
        tolerance: Distance (m) under which two points count as the same structure.
    """
    if len(points) < 8:
        raise ValueError(f'{name}: {len(points)} structure points; too few to build a body '
                         f'model (are the poses labelled and the events on the target?)')
    points = np.round(points, 4)  # voxel centres: keep float noise out of body.json
    # Symmetric parts are not always seen alike (views, lighting): match them more loosely.
    symmetries = find_symmetries(points, 1.5 * tolerance)
    keypoints, names = select_keypoints(points, symmetries, tolerance, num_keypoints)
    return BodyModel(name, (), keypoints, tuple(names), symmetries, points=points)


def distance_to_boxes(points: np.ndarray, boxes: tuple[Box, ...]) -> np.ndarray:
    """``(N,)`` distance (m) from each point to the nearest box surface."""
    best = np.full(len(points), np.inf)
    for box in boxes:
        low, high = box.bounds
        outside = np.linalg.norm(np.maximum(np.maximum(low - points, points - high), 0), axis=1)
        inside = np.minimum(points - low, high - points).min(axis=1)
        best = np.minimum(best, np.where(inside > 0, inside, outside))
    return best


def edge_points(body: BodyModel, step: float = 0.02) -> np.ndarray:
    """``(N, 3)`` points every ``step`` m along a box model's edges: what event voting
    recovers of it, so the reference a reconstruction's symmetries are checked against."""
    points = []
    for start, end in body.wireframe():
        n = max(int(np.linalg.norm(end - start) / step), 1)
        points.append(start + np.linspace(0, 1, n + 1)[:, None] * (end - start))
    return np.unique(np.round(np.concatenate(points), 4), axis=0)
