"""Keypoints and near-symmetries of a body known only as 3-D points (a reconstruction).

Symmetries are searched among the 24 rotations that map the body axes onto themselves:
SPADES labels, like a satellite's design frame, put the body axes along its structure, so
a rotation that maps the body onto itself is one of them. Keypoints are the extreme points
of the structure in 26 directions (corners and the ends of thin parts), plus extremes of
the points that break the symmetries, so PnP can tell the near-symmetric poses apart.
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


def select_keypoints(points: np.ndarray, symmetries: np.ndarray, tolerance: float,
                     min_keypoints: int = 12) -> tuple[np.ndarray, list[str]]:
    """Named keypoints: extremes of the whole structure and of its symmetry-breaking parts.

    Names are ``tip<dirs>`` for extremes of the body and ``asym<dirs>`` for extremes of the
    points that break a near-symmetry; when fewer than ``min_keypoints`` come out, the
    spacing between keypoints is halved and the search repeated, and a structure too small
    for that is topped up with the points farthest from all chosen (``far<k>``).
    """
    broken = asymmetric_points(points, symmetries, tolerance)
    core = dense_points(points, tolerance)
    broken = dense_points(points[broken], tolerance) if broken.sum() >= 8 else points[:0]
    points = core
    spacing = np.ptp(points, axis=0).max() / 6
    while True:
        tips, tip_names = extreme_points(points, spacing)
        keypoints, names = list(tips), [f'tip{n}' for n in tip_names]
        if len(broken) >= 4:
            asym, asym_names = extreme_points(broken, spacing)
            for point, name in zip(asym, asym_names):
                if all(np.linalg.norm(point - k) >= spacing / 2 for k in keypoints):
                    keypoints.append(point)
                    names.append(f'asym{name}')
        if len(keypoints) >= min_keypoints:
            return np.asarray(keypoints), names
        if spacing < tolerance:
            break
        spacing /= 2
    while len(keypoints) < min(min_keypoints, len(points)):
        gaps = np.min(np.linalg.norm(points[:, None] - np.asarray(keypoints)[None], axis=2), 1)
        keypoints.append(points[np.argmax(gaps)])
        names.append(f'far{len(names)}')
    return np.asarray(keypoints), names


def body_from_points(points: np.ndarray, name: str, min_keypoints: int = 12,
                     tolerance: float = 0.04) -> BodyModel:
    """A box-less :class:`BodyModel` from structure points (m): symmetries, then keypoints.

    Args:
        points: ``(N, 3)`` body-frame points on the target's structure.
        name: Model name.
        min_keypoints: Keypoints wanted at least.
        tolerance: Distance (m) under which two points count as the same structure.
    """
    if len(points) < 8:
        raise ValueError(f'{name}: {len(points)} structure points; too few to build a body '
                         f'model (are the poses labelled and the events on the target?)')
    points = np.round(points, 4)  # voxel centres: keep float noise out of body.json
    # Symmetric parts are not always seen alike (views, lighting): match them more loosely.
    symmetries = find_symmetries(points, 1.5 * tolerance)
    keypoints, names = select_keypoints(points, symmetries, tolerance, min_keypoints)
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
