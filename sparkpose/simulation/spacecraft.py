"""Spacecraft models made of axis-aligned boxes in the body frame (metres).

The body frame is the frame the pose labels refer to: ``p_cam = R · p_body + t``, so the
origin (the bus centre) is the point whose projection is ``K · t / Tz``.
"""
from dataclasses import dataclass
from functools import cached_property

import numpy as np

# Vertex index pairs of the 12 edges of a box whose 8 corners are ordered by the bits
# (x, y, z) of the corner index (bit set = max side).
_BOX_EDGES = np.array([(a, a | bit) for bit in (1, 2, 4) for a in range(8) if not a & bit])


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class Box:
    """One axis-aligned box of a spacecraft.

    Args:
        center: ``(3,)`` box centre in the body frame (m).
        size: ``(3,)`` edge lengths along the body x, y, z axes (m).
        albedo: Diffuse reflectance in ``[0, 1]``.
        grid_pitch: Spacing (m) of darker grid lines on the surface (solar cells); 0 for a
            plain surface. Lines lie on multiples of the pitch in body coordinates, so a
            grid is symmetric whenever its box is.
    """

    center: tuple[float, float, float]
    size: tuple[float, float, float]
    albedo: float = 0.7
    grid_pitch: float = 0.0

    # Cached (the renderer asks every frame) and read-only (shared by all callers).
    @cached_property
    def bounds(self) -> np.ndarray:
        """``(2, 3)`` min and max corner (m)."""
        center, half = np.asarray(self.center, float), np.asarray(self.size, float) / 2
        return _read_only(np.stack([center - half, center + half]))

    @cached_property
    def corners(self) -> np.ndarray:
        """``(8, 3)`` corners; corner ``i`` takes the max side on axis ``k`` iff bit ``k``."""
        bits = (np.arange(8)[:, None] >> np.arange(3)) & 1
        return _read_only(np.where(bits == 1, self.bounds[1], self.bounds[0]))


@dataclass(frozen=True)
class Spacecraft:
    """A rigid body made of boxes; the renderer, trajectories and drawings share it.

    Args:
        name: Model name.
        boxes: The boxes, in body coordinates.
    """

    name: str
    boxes: tuple[Box, ...]

    @cached_property
    def corners(self) -> np.ndarray:
        """``(8 * num_boxes, 3)`` all box corners (m); rigid-motion extremes lie among them."""
        return _read_only(np.concatenate([box.corners for box in self.boxes]))

    @property
    def bounding_radius(self) -> float:
        """Radius (m) of the smallest origin-centred sphere holding the body."""
        return float(np.linalg.norm(self.corners, axis=1).max())

    def wireframe(self) -> np.ndarray:
        """Box edges as 3-D segments.

        Returns:
            ``(12 * num_boxes, 2, 3)`` segment end points in the body frame (m).
        """
        return np.concatenate([box.corners[_BOX_EDGES] for box in self.boxes])


def proba2_like() -> Spacecraft:
    """A Proba-2-like microsatellite: box bus, two solar wings, asymmetric appendages.

    The instrument on the +z face and the boom on the +x side sit off every symmetry plane
    of bus and wings, so no reflection or rotation of the body maps it onto itself and the
    pose is not ambiguous.
    """
    boxes = (
        Box((0.0, 0.0, 0.0), (0.6, 0.7, 0.8), albedo=0.75),  # bus, MLI-covered
        Box((0.0, 0.4, 0.0), (0.04, 0.1, 0.04), albedo=0.6),  # wing yokes
        Box((0.0, -0.4, 0.0), (0.04, 0.1, 0.04), albedo=0.6),
        Box((0.0, 0.7, 0.0), (0.6, 0.5, 0.03), albedo=0.35, grid_pitch=0.1),  # solar wings
        Box((0.0, -0.7, 0.0), (0.6, 0.5, 0.03), albedo=0.35, grid_pitch=0.1),
        Box((0.12, -0.12, 0.5), (0.18, 0.18, 0.2), albedo=0.9),  # Sun-pointing instrument
        Box((0.45, 0.2, -0.25), (0.3, 0.03, 0.03), albedo=0.9),  # antenna boom ...
        Box((0.63, 0.2, -0.25), (0.06, 0.1, 0.1), albedo=0.9),  # ... and its tip
    )
    return Spacecraft('proba2_like', boxes)


def mirror_symmetric() -> Spacecraft:
    """A test body symmetric under ``x -> -x`` (body reflection ``M = diag(-1, 1, 1)``).

    Bus, wings and a centred instrument only: the horizontal-flip rule ``(S·R·M, S·t)`` is
    exact for it, which the renderer tests check.
    """
    boxes = (
        Box((0.0, 0.0, 0.0), (0.6, 0.7, 0.8), albedo=0.75),
        Box((0.0, 0.7, 0.0), (0.6, 0.5, 0.03), albedo=0.35, grid_pitch=0.1),
        Box((0.0, -0.7, 0.0), (0.6, 0.5, 0.03), albedo=0.35, grid_pitch=0.1),
        Box((0.0, -0.12, 0.5), (0.18, 0.18, 0.2), albedo=0.9),
    )
    return Spacecraft('mirror_symmetric', boxes)
