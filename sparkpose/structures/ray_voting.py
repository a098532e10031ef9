"""Event rays voted into a body-frame volume: where the rays of many views agree lies structure.

With a known pose, an event at pixel ``(x, y)`` is a ray from the camera centre through
``K⁻¹ (x + ½, y + ½, 1)``; edges of the target fire events from every view in which they
move, so their rays cross at the edge, while noise and hot-pixel rays (which sweep the body
frame as the target turns) spread thinly. This is the space-sweep voting of event-based
multi-view stereo (EMVS, Rebecq et al., IJCV 2018) done in the body frame of a turning target
instead of the world frame of a moving camera. Torch-free: the volume walk is a numba kernel.
"""
from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class VoteVolume:
    """A cube of voxels centred on the body origin, counting ray crossings.

    Args:
        half_extent: Half the cube's side (m).
        voxel: Voxel side (m).
    """

    half_extent: float
    voxel: float

    @property
    def cells(self) -> int:
        """Voxels per side."""
        return int(np.ceil(2 * self.half_extent / self.voxel))

    def empty(self) -> np.ndarray:
        """``(n, n, n)`` uint32 zero counts, indexed ``[ix, iy, iz]``."""
        return np.zeros((self.cells,) * 3, np.uint32)

    def centres(self, index: np.ndarray) -> np.ndarray:
        """``(N, 3)`` body-frame centres (m) of voxels ``(N, 3)`` ``[ix, iy, iz]``."""
        return -self.half_extent + (np.asarray(index, np.float64) + 0.5) * self.voxel


@numba.njit(cache=True, nogil=True)
def _walk(origins, directions, ray_pose, votes, low, voxel, winners):  # pragma: no cover
    # winners is None: add 1 to every voxel the ray crosses. Else add 1 to winners only
    # at the voxel where votes is largest along the ray (the ray's most likely source).
    # walk_reference says the same with numpy and is what the tests hold this to.
    n = votes.shape[0]
    high = low + n * voxel
    for i in range(directions.shape[0]):
        o = origins[ray_pose[i]]
        d = directions[i]
        # Slab test: the part of the ray inside the cube, then one sample per voxel length.
        t0, t1 = 0.0, 1e30
        for k in range(3):
            if abs(d[k]) < 1e-12:
                if o[k] < low or o[k] > high:
                    t1 = -1.0
                continue
            a, b = (low - o[k]) / d[k], (high - o[k]) / d[k]
            t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
        last = (-1, -1, -1)
        best, best_at = 0, (-1, -1, -1)
        t = t0
        while t < t1:
            ix = int((o[0] + t * d[0] - low) / voxel)
            iy = int((o[1] + t * d[1] - low) / voxel)
            iz = int((o[2] + t * d[2] - low) / voxel)
            if 0 <= ix < n and 0 <= iy < n and 0 <= iz < n and (ix, iy, iz) != last:
                if winners is None:
                    votes[ix, iy, iz] += 1
                elif votes[ix, iy, iz] > best:
                    best, best_at = votes[ix, iy, iz], (ix, iy, iz)
                last = (ix, iy, iz)
            t += 0.5 * voxel
        if winners is not None and best > 0:
            winners[best_at] += 1


def walk_reference(origins: np.ndarray, directions: np.ndarray, ray_pose: np.ndarray,
                   votes: np.ndarray, low: float, voxel: float,
                   winners: np.ndarray | None = None) -> None:
    """What the numba walk of :func:`vote_rays` does, ray by ray with numpy: the reference
    it is tested against.

    Each ray ``origins[ray_pose[i]] + t · directions[i]`` (``t ≥ 0``) is clipped to the
    cube ``[low, low + n · voxel)³`` (slab test) and sampled every half voxel; a sample's
    voxel is its offset from ``low`` divided by ``voxel``, truncated; a voxel repeated by
    consecutive samples counts once. Without ``winners`` each voxel gets one vote; with it,
    ``winners`` gets one at the first voxel of most (and more than no) ``votes``.
    """
    n = votes.shape[0]
    step = 0.5 * voxel
    for origin, direction in zip(origins[ray_pose], directions):
        level = np.abs(direction) < 1e-12
        if (level & ((origin < low) | (origin > low + n * voxel))).any():
            continue  # parallel to a pair of faces, outside them
        with np.errstate(divide='ignore', invalid='ignore'):
            ends = (np.array([low, low + n * voxel])[:, None] - origin) / direction
        t0 = max(0.0, ends.min(axis=0)[~level].max(initial=0.0))
        t1 = ends.max(axis=0)[~level].min(initial=1e30)
        samples = t0 + step * np.arange(max(0, int(np.ceil((t1 - t0) / step))))
        cells = np.trunc((origin + samples[:, None] * direction - low) / voxel).astype(int)
        cells = cells[((cells >= 0) & (cells < n)).all(axis=1)]
        cells = cells[np.r_[True, (cells[1:] != cells[:-1]).any(axis=1)]] if len(
            cells) else cells
        if winners is None:
            np.add.at(votes, tuple(cells.T), 1)
        elif len(cells) and votes[tuple(cells.T)].max() > 0:
            winners[tuple(cells[np.argmax(votes[tuple(cells.T)])])] += 1


def vote_rays(votes: np.ndarray, volume: VoteVolume, pixels: np.ndarray, ray_pose: np.ndarray,
              rotations: np.ndarray, translations: np.ndarray, K: np.ndarray,
              winners: np.ndarray | None = None) -> None:
    """Add the rays of events to ``votes`` (in place; each voxel at most once per ray).

    With ``winners`` (a second volume), ``votes`` is read, not written: each ray adds one
    to ``winners`` at its voxel of most votes. The plain sum is a back-projection, blurred
    around every edge by the rays that merely pass it; the winners of a second pass sit on
    the edges themselves (the ray-wise maxima of EMVS).

    Args:
        votes: ``volume.empty()``-shaped counts.
        volume: The cube.
        pixels: ``(N, 2)`` event columns and rows.
        ray_pose: ``(N,)`` index into ``rotations`` / ``translations`` of each event's pose.
        rotations: ``(P, 3, 3)`` body-to-camera rotations (``p_cam = R · p_body + t``).
        translations: ``(P, 3)`` body origin in the camera frame (m).
        K: ``(3, 3)`` intrinsics.
    """
    rays_cam = np.column_stack([np.asarray(pixels, np.float64) + 0.5, np.ones(len(pixels))])
    rays_cam = rays_cam @ np.linalg.inv(K).T
    rays_cam /= np.linalg.norm(rays_cam, axis=1, keepdims=True)
    # Body frame: camera centre -Rᵀt, direction Rᵀ·d (row vectors: d · R).
    origins = -np.einsum('pji,pj->pi', rotations, translations)
    directions = np.einsum('nj,nji->ni', rays_cam, rotations[ray_pose])
    _walk(origins, np.ascontiguousarray(directions), np.asarray(ray_pose, np.int64), votes,
          -volume.half_extent, volume.voxel, winners)


def structure_voxels(votes: np.ndarray, relative_threshold: float = 0.05,
                     min_support: int = 2) -> np.ndarray:
    """Voxels where rays agree: strong counts that are maxima across the structure.

    A voxel is kept when its count is at least ``relative_threshold`` times the 99.9th
    percentile of the non-zero counts (so the threshold follows the amount of data, not
    its absolute size), it is a local maximum along at least one axis (thins the vote
    blur around an edge to its ridge), and at least ``min_support`` of its 26 neighbours
    pass the threshold too (isolated noise spikes do not).

    Returns:
        ``(N, 3)`` int64 voxel indices.
    """
    positive = votes[votes > 0]
    if not len(positive):
        return np.zeros((0, 3), np.int64)
    strong = votes >= relative_threshold * np.percentile(positive, 99.9)
    padded = np.pad(votes, 1)
    n = votes.shape[0]
    centre = padded[1:-1, 1:-1, 1:-1]
    ridge = np.zeros_like(strong)
    for axis in range(3):
        lo = [slice(1, -1)] * 3
        hi = [slice(1, -1)] * 3
        lo[axis], hi[axis] = slice(0, n), slice(2, n + 2)
        ridge |= (centre >= padded[tuple(lo)]) & (centre >= padded[tuple(hi)])
    support = np.zeros(votes.shape, np.int32)
    padded_strong = np.pad(strong, 1).astype(np.int32)
    for dx in range(3):
        for dy in range(3):
            for dz in range(3):
                support += padded_strong[dx:dx + n, dy:dy + n, dz:dz + n]
    keep = strong & ridge & (support - 1 >= min_support)
    return np.argwhere(keep)
