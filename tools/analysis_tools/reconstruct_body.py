"""Reconstruct the target's body model (points, keypoints, near-symmetries) from labelled events.

SPADES ships no 3-D model of Proba-2. With the labelled poses every event is a ray through
an edge of the target; this tool votes the rays of the training windows into a body-frame
volume (:mod:`sparkpose.structures.ray_voting`), keeps the voxels where they agree, picks
keypoints and near-symmetries from them (:mod:`sparkpose.structures.body_features`) and
writes a box-less ``body.json`` plus ``body.png`` (three orthographic views) beside it::

    python tools/analysis_tools/reconstruct_body.py data/spades --out data/spades/body.json
    # how close it came, where the true model is known (synthetic data):
    python tools/analysis_tools/reconstruct_body.py data/demo --split train.txt \\
        --out work_dirs/demo/body.json --reference data/demo/body.json

Memory holds at most ``--max-events-per-window`` events of every window (sampled at
random with ``--seed``) plus one ``cells³`` uint32 volume. ``--max-files N`` reads only N
files of the split, evenly spread over it (``make demo``: 100 of its 2,432 training files,
4,000 events per window, for a body as close to the truth as from all of them in a tenth
of the time).
"""
import argparse
import json
import os.path as osp
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation, Slerp
from tqdm import tqdm

from sparkpose.datasets import SPADESSequence, load_camera, read_split
from sparkpose.structures.body_features import body_from_points, distance_to_boxes
from sparkpose.structures.body_model import load_body_model
from sparkpose.structures.ray_voting import VoteVolume, structure_voxels, vote_rays
from sparkpose.visualization.body_views import draw_three_views

SUB_WINDOWS = 20  # poses per 100 ms window: 5 ms apart, < 1 cm of motion at 100 deg/s, 1 m


def clustered_events(x: np.ndarray, y: np.ndarray, size: tuple[int, int],
                     min_neighbours: int = 3) -> np.ndarray:
    """``(N,)`` bool: events with at least ``min_neighbours`` other active pixels among the
    8 around theirs in the same window. Edges fire in lines of pixels; background noise
    and hot pixels fire alone, so this drops most of them before they vote."""
    width, height = size
    active = np.zeros((height + 2, width + 2), np.int16)
    active[y.astype(np.int64) + 1, x.astype(np.int64) + 1] = 1
    around = sum(active[1 + dy:height + 1 + dy, 1 + dx:width + 1 + dx]
                 for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - active[1:-1, 1:-1]
    return around[y.astype(np.int64), x.astype(np.int64)] >= min_neighbours


def sample_rays(path: str, sensor_size: tuple[int, int], max_events: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Events of every labelled window of one file, each with the pose at its time.

    Windows ``i >= 1`` (the first has no earlier pose to interpolate from); their events
    are split into ``SUB_WINDOWS`` slices, each given the pose interpolated (slerp, linear
    translation) at its middle.

    Returns:
        ``(N, 2)`` pixels, ``(N,)`` pose index, ``(P, 3, 3)`` rotations, ``(P, 3)``
        translations.
    """
    sequence = SPADESSequence(path, sensor_size=sensor_size)
    if not sequence.has_pose or len(sequence) < 2:
        return np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros((0, 3, 3)), np.zeros((0, 3))
    times = sequence.timestamps_us.astype(np.float64)
    slerp = Slerp(times, Rotation.from_quat(sequence.quaternions))
    pixels, pose_index, pose_times = [], [], []
    for i in range(1, len(sequence)):
        events = sequence.read_window(i)  # (t_i - 100 ms, t_i]: labels are 100 ms apart
        clustered = clustered_events(events['x'], events['y'], sensor_size)
        events = {key: value[clustered] for key, value in events.items()}
        if not len(events['t']):
            continue
        keep = np.sort(rng.choice(len(events['t']), min(max_events, len(events['t'])),
                                  replace=False))
        edges = np.linspace(*sequence.window_us[i], SUB_WINDOWS + 1)
        slot = np.clip(np.searchsorted(edges, events['t'][keep], 'left') - 1, 0, SUB_WINDOWS - 1)
        pixels.append(np.column_stack([events['x'][keep], events['y'][keep]]).astype(np.float32))
        pose_index.append(len(pose_times) + slot)
        pose_times.extend((edges[:-1] + edges[1:]) / 2)
    if not pixels:
        return np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros((0, 3, 3)), np.zeros((0, 3))
    pose_times = np.clip(pose_times, times[0], times[-1])
    translations = np.stack([np.interp(pose_times, times, sequence.translations[:, k])
                             for k in range(3)], axis=1)
    return (np.concatenate(pixels), np.concatenate(pose_index),
            slerp(pose_times).as_matrix(), translations)


def spread(names: list[str], max_files: int | None) -> list[str]:
    """At most ``max_files`` of ``names``, evenly spread over the list, first and last
    included (every one when ``max_files`` is ``None`` or not smaller than the list)."""
    if max_files is not None and max_files < 1:
        raise ValueError(f'max_files must be at least 1, got {max_files}')
    if max_files is None or max_files >= len(names):
        return list(names)
    return [names[i] for i in np.linspace(0, len(names) - 1, max_files).round().astype(int)]


def reconstruct(data_root: str, names: list[str], half_extent: float, voxel: float,
                max_events: int, seed: int) -> tuple[np.ndarray, dict]:
    """Structure points (m, body frame) of the named sequences and run statistics.

    Each file's camera is the ``camera.json`` of its own folder, so a split may list files
    of several sensors (``full_sensor/RT000``).
    """
    rng = np.random.default_rng(seed)
    rays = []
    for name in tqdm(names, desc='reading', unit='file', file=sys.stderr):
        path = osp.join(data_root, f'{name}.h5')
        size, K = load_camera(osp.join(osp.dirname(path), 'camera.json'))
        pixels, pose_index, rotations, translations = sample_rays(path, size, max_events, rng)
        if len(pixels):
            rays.append((pixels, pose_index, rotations, translations, K))
    if not rays:
        raise SystemExit(f'{data_root}: no labelled events with poses in {len(names)} files')
    volume = VoteVolume(half_extent, voxel)
    votes, winners = volume.empty(), volume.empty()
    for target in (None, winners):  # back-projection, then each ray's most-voted voxel
        for pixels, pose_index, rotations, translations, K in tqdm(
                rays, desc='voting' if target is None else 'ray maxima', unit='file',
                file=sys.stderr):
            vote_rays(votes, volume, pixels, pose_index, rotations, translations, K, target)
    points = volume.centres(structure_voxels(winners))
    return points, dict(files=len(names), events=int(sum(len(r[0]) for r in rays)),
                        half_extent=half_extent, cells=volume.cells)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='SPADES-layout folder with camera.json')
    parser.add_argument('--out', required=True, help='body.json to write (body.png beside)')
    parser.add_argument('--split', default='train.txt',
                        help='split list inside DATA_ROOT; every *.h5 when it does not exist')
    parser.add_argument('--half-extent', type=float, default=1.5,
                        help='half side (m) of the body-frame cube searched; must hold the body')
    parser.add_argument('--voxel', type=float, default=0.02, help='voxel side (m)')
    parser.add_argument('--max-events-per-window', type=int, default=20000)
    parser.add_argument('--max-files', type=int,
                        help='read at most this many files of the split, evenly spread over '
                        'it (default: all)')
    parser.add_argument('--num-keypoints', type=int, default=14)
    parser.add_argument('--name', default='reconstructed')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--reference', help='true body.json, only to report the errors')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    split = osp.join(args.data_root, args.split)
    names = (read_split(args.data_root, split) if osp.isfile(split) else
             sorted(p.stem for p in Path(args.data_root).glob('*.h5')))
    files = spread(names, args.max_files)
    points, stats = reconstruct(args.data_root, files, args.half_extent, args.voxel,
                                args.max_events_per_window, args.seed)
    body = body_from_points(points, args.name, args.num_keypoints, tolerance=2 * args.voxel)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    body.save(out)
    draw_three_views(body).save(out.with_suffix('.png'))
    stats.update(seconds=round(time.perf_counter() - start, 1), points=len(body.points),
                 keypoints=len(body.keypoints), symmetries=len(body.symmetries))
    if args.reference:
        stats.update(compare(body, load_body_model(args.reference)))
    print(json.dumps(stats, indent=1))
    return stats


def compare(body, reference) -> dict:
    """How far the reconstruction lies from a box model's surface, and its symmetry set."""
    point_cm = 100 * distance_to_boxes(body.points, reference.boxes)
    keypoint_cm = 100 * distance_to_boxes(body.keypoints, reference.boxes)
    same = (len(body.symmetries) == len(reference.symmetries) and all(
        np.abs(reference.symmetries - s).max(axis=(1, 2)).min() < 1e-6
        for s in body.symmetries))
    return dict(points_within_3cm=round(float(np.mean(point_cm <= 3)), 4),
                point_median_cm=round(float(np.median(point_cm)), 2),
                keypoint_max_cm=round(float(keypoint_cm.max()), 2),
                symmetries_match=bool(same))


if __name__ == '__main__':
    main()
