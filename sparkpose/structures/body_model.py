"""The target's body model: boxes, 3-D keypoints and approximate symmetries (metres).

The body frame is the frame the pose labels refer to: ``p_cam = R · p_body + t``, so the
origin (the bus centre) is the point whose projection is ``K · t / Tz``. One model serves
the generator (it renders the boxes), the keypoint heads (they learn the keypoints'
projections), the metrics (rotation error modulo the symmetries) and the pose overlay
(it draws the boxes' edges). It lives in a small JSON file next to the data
(``body.json``, see ``docs/body_model.md``); the generator writes the one it rendered.
"""
import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np

BODY_FILE = 'body.json'

# Vertex index pairs of the 12 edges of a box whose 8 corners are ordered by the bits
# (x, y, z) of the corner index (bit set = max side).
_BOX_EDGES = np.array([(a, a | bit) for bit in (1, 2, 4) for a in range(8) if not a & bit])


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def check_symmetries(symmetries, owner: str) -> np.ndarray:
    """``(S, 3, 3)`` float64 rotations, the identity first, or a ``ValueError`` naming
    ``owner``: a set that is not made of rotations would make "modulo symmetry" meaningless."""
    matrices = np.asarray(symmetries, np.float64)
    if matrices.ndim != 3 or matrices.shape[1:] != (3, 3) or not len(matrices):
        raise ValueError(f'{owner}: symmetries have shape {matrices.shape}; expected '
                         f'(S, 3, 3) with S >= 1')
    gram = np.einsum('sij,sik->sjk', matrices, matrices)
    if not (np.allclose(gram, np.eye(3), atol=1e-6)
            and np.allclose(np.linalg.det(matrices), 1, atol=1e-6)):
        raise ValueError(f'{owner}: every symmetry must be a rotation matrix '
                         f'(orthonormal, det +1)')
    if not np.allclose(matrices[0], np.eye(3), atol=1e-6):
        raise ValueError(f'{owner}: the first symmetry must be the identity, got '
                         f'{matrices[0].tolist()}')
    return matrices


@dataclass(frozen=True)
class Box:
    """One axis-aligned box of a body.

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


# eq=False: arrays have no truth value; models compare (and hash) by identity.
@dataclass(frozen=True, eq=False)
class BodyModel:
    """A rigid body made of boxes or points, with named keypoints and its near-symmetries.

    The generator renders boxes; a body reconstructed from events
    (``tools/analysis_tools/reconstruct_body.py``) has no boxes, only points on its
    structure. Readers use :attr:`corners` (extremes) and :meth:`wireframe` / :attr:`points`
    (drawing), which work for either.

    Args:
        name: Model name.
        boxes: The boxes, in body coordinates; may be empty when ``points`` are given.
        keypoints: ``(K, 3)`` body-frame points a keypoint head learns to find (m).
        keypoint_names: One name per keypoint.
        symmetries: ``(S, 3, 3)`` body-frame rotations under which the body looks (nearly)
            the same, the identity first. A pose ``R`` and ``R · S_k`` are then hard to
            tell apart; metrics report the rotation error modulo this set too.
        points: ``(N, 3)`` body-frame points on the structure (m), e.g. a reconstruction.
    """

    name: str
    boxes: tuple[Box, ...]
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    keypoint_names: tuple[str, ...] = ()
    symmetries: np.ndarray = field(default_factory=lambda: np.eye(3)[None])
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))

    def __post_init__(self) -> None:
        keypoints = np.asarray(self.keypoints, np.float64)
        if keypoints.size and (keypoints.ndim != 2 or keypoints.shape[1] != 3):
            raise ValueError(f'body model {self.name!r}: keypoints must be [x, y, z] (m) each, '
                             f'got an array of shape {keypoints.shape}')
        keypoints = keypoints.reshape(-1, 3)
        points = np.asarray(self.points, np.float64).reshape(-1, 3)
        if not self.boxes and not len(points):
            raise ValueError(f'body model {self.name!r}: neither boxes nor points; one of '
                             f'them must describe the shape')
        symmetries = check_symmetries(self.symmetries, f'body model {self.name!r}')
        if len(self.keypoint_names) != len(keypoints):
            raise ValueError(f'body model {self.name!r}: {len(keypoints)} keypoints but '
                             f'{len(self.keypoint_names)} keypoint names')
        object.__setattr__(self, 'keypoints', _read_only(keypoints))
        object.__setattr__(self, 'symmetries', _read_only(symmetries))
        object.__setattr__(self, 'points', _read_only(points))

    @cached_property
    def corners(self) -> np.ndarray:
        """``(8 * num_boxes, 3)`` all box corners, or the points of a box-less body (m):
        rigid-motion extremes lie among them."""
        if not self.boxes:
            return self.points
        return _read_only(np.concatenate([box.corners for box in self.boxes]))

    @property
    def bounding_radius(self) -> float:
        """Radius (m) of the smallest origin-centred sphere holding the body."""
        return float(np.linalg.norm(self.corners, axis=1).max())

    def wireframe(self) -> np.ndarray:
        """Box edges as 3-D segments (none for a box-less body: draw its :attr:`points`).

        Returns:
            ``(12 * num_boxes, 2, 3)`` segment end points in the body frame (m).
        """
        if not self.boxes:
            return np.zeros((0, 2, 3))
        return np.concatenate([box.corners[_BOX_EDGES] for box in self.boxes])

    def to_dict(self) -> dict:
        """The JSON form (see :func:`load_body_model`); ``points`` only when there are any."""
        data = dict(
            name=self.name,
            boxes=[dict(center=list(b.center), size=list(b.size), albedo=b.albedo,
                        grid_pitch=b.grid_pitch) for b in self.boxes],
            keypoints={n: p.tolist() for n, p in zip(self.keypoint_names, self.keypoints)},
            symmetries=[np.round(s, 12).tolist() for s in self.symmetries])
        if len(self.points):
            data['points'] = np.round(self.points, 4).tolist()
        return data

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON to ``path``."""
        # One box, keypoint or symmetry per line: readable and diff-friendly.
        data = self.to_dict()
        lines = [f'  "name": {json.dumps(data["name"])}']
        for key in ('boxes', 'keypoints', 'symmetries', 'points'):
            if key not in data:
                continue
            value = data[key]
            items = ([f'    {json.dumps(k)}: {json.dumps(v)}' for k, v in value.items()]
                     if isinstance(value, dict) else [f'    {json.dumps(v)}' for v in value])
            brackets = '{}' if isinstance(value, dict) else '[]'
            lines.append(f'  "{key}": {brackets[0]}\n' + ',\n'.join(items)
                         + f'\n  {brackets[1]}')
        path = Path(path)
        path.write_text('{\n' + ',\n'.join(lines) + '\n}\n')
        return path

    @classmethod
    def from_dict(cls, data: dict, source: str = '<dict>') -> 'BodyModel':
        """Build from the JSON form; errors name ``source`` and the offending key."""
        missing = [k for k in ('name', 'boxes', 'keypoints', 'symmetries') if k not in data]
        if missing:
            raise ValueError(f'{source}: body model lacks {missing}; expected name, boxes, '
                             f'keypoints (name -> [x, y, z] m), symmetries (3x3 rotations) '
                             f'and optionally points ([x, y, z] m; boxes may then be [])')
        try:
            boxes = tuple(Box(tuple(b['center']), tuple(b['size']), b.get('albedo', 0.7),
                              b.get('grid_pitch', 0.0)) for b in data['boxes'])
            keypoints = dict(data['keypoints'])
            return cls(data['name'], boxes, np.asarray(list(keypoints.values()), float),
                       tuple(keypoints), np.asarray(data['symmetries'], float),
                       np.asarray(data.get('points', []), float))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f'{source}: not a valid body model: {error}') from None


@cache
def load_body_model(path: str) -> BodyModel:
    """Read a ``body.json`` once per process (heads, metrics and hooks share it).

    Args:
        path: JSON file with ``name``, ``boxes`` (``center``, ``size``, optional
            ``albedo``, ``grid_pitch``), ``keypoints`` (name → ``[x, y, z]`` m),
            ``symmetries`` (list of 3×3 body-frame rotations, the identity first) and
            optional ``points`` (``[x, y, z]`` m; with them ``boxes`` may be empty).
    """
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f'body model file {path} not found; the generator writes '
                                f'one next to the data ({BODY_FILE}), see '
                                f'docs/body_model.md') from None
    except json.JSONDecodeError as error:
        raise ValueError(f'{path}: not valid JSON ({error})') from None
    return BodyModel.from_dict(data, source=str(path))


def _turns_180() -> np.ndarray:
    """Identity and the three 180° turns about the body axes."""
    return np.stack([np.eye(3)] + [np.diag(d) for d in ((1, -1, -1), (-1, 1, -1),
                                                         (-1, -1, 1))]).astype(float)


def proba2_like() -> BodyModel:
    """A Proba-2-like microsatellite: box bus, two solar wings, asymmetric appendages.

    The instrument on the +z face and the boom on the +x side sit off every symmetry plane
    of bus and wings, so no reflection or rotation of the body maps it onto itself and the
    pose is not ambiguous. Bus and wings alone are symmetric under the three 180° turns
    about the body axes: those are the model's near-symmetries. Keypoints: the 8 bus
    corners, the 4 outer wing corners, the instrument's top and the boom's tip.
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
    names, points = [], []
    for corner, point in enumerate(boxes[0].corners):
        names.append('bus_' + ''.join('+' if corner >> k & 1 else '-' for k in range(3)))
        points.append(point)
    for side, wing in (('+y', boxes[3]), ('-y', boxes[4])):
        tip_y = wing.bounds[1, 1] if side == '+y' else wing.bounds[0, 1]
        for end, x in (('+x', wing.bounds[1, 0]), ('-x', wing.bounds[0, 0])):
            names.append(f'wing{side}_tip{end}')
            points.append((x, tip_y, 0.0))
    names += ['instrument_top', 'boom_tip']
    points += [(0.12, -0.12, boxes[5].bounds[1, 2]), (boxes[7].bounds[1, 0], 0.2, -0.25)]
    return BodyModel('proba2_like', boxes, np.asarray(points), tuple(names), _turns_180())


def mirror_symmetric() -> BodyModel:
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
    return BodyModel('mirror_symmetric', boxes)
