"""Generate one synthetic SPADES-layout trajectory: render, simulate events, label.

A sequence is a function of ``(seed, index, options)`` only: its random source is
``SeedSequence(seed, spawn_key=(index,))`` (the ``index``-th child of ``SeedSequence(seed)``),
so a file is the same whichever worker makes it and however many sequences are made.
"""
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np
from scipy.spatial.transform import Rotation

from sparkpose.datasets.spades_format import SPADES_CAMERA
from sparkpose.structures.body_model import BodyModel, proba2_like

from .event_simulator import EventSimulator
from .renderer import render_region
from .spades_writer import SpadesFileWriter, make_labels
from .trajectory import Trajectory, random_trajectory

TICKS_PER_SECOND = {'100us': 10_000, 'us': 1_000_000}
LABEL_RATE = 10  # Hz
# Motion is measured over base intervals this long (s) to choose the frames in between.
_BASE_INTERVAL = 0.01
# Events are generated, sorted and written in blocks about this long (s).
_BLOCK_SECONDS = 0.25


@dataclass(frozen=True)
class SequenceOptions:
    """Everything that shapes a synthetic sequence besides its seed and index.

    Args:
        duration: Length (s); labels come at 10 Hz, label ``i`` at ``(i + 1) · 100 ms``.
        resolution: Sensor ``(W, H)``; the SPADES intrinsics are scaled to it.
        time_unit: Timestamp ticks, ``'100us'`` (synthetic SPADES) or ``'us'`` (test files).
        with_poses: Write poses; ``False`` writes timestamps only, like test files.
        min_distance: Nearest ``Tz`` (m), see :func:`random_trajectory`.
        max_distance: Farthest ``Tz`` (m).
        max_tumble_rate: Largest tumble rate (deg/s).
        min_tumble_rate: Smallest tumble rate (deg/s); ``None``: a quarter of the largest.
        contrast_threshold: Range from which the sequence's mean threshold is drawn.
        threshold_sigma: Pixel-to-pixel spread of the thresholds.
        refractory_period: Pixel dead time (s).
        leak_rate: Leak events (Hz per pixel).
        shot_noise_rate: Shot-noise events (Hz per pixel).
        ambient: Light on faces the Sun does not reach, as a fraction of full sunlight.
        max_pixel_motion: Largest image motion (pixels) of any body point between frames.
        body: The spacecraft.
    """

    duration: float = 2.0
    resolution: tuple[int, int] = (1280, 720)
    time_unit: str = '100us'
    with_poses: bool = True
    min_distance: float = 3.0
    max_distance: float = 12.0
    max_tumble_rate: float = 10.0
    min_tumble_rate: float | None = None
    contrast_threshold: tuple[float, float] = (0.2, 0.3)
    threshold_sigma: float = 0.03
    refractory_period: float = 5e-4
    leak_rate: float = 0.1
    shot_noise_rate: float = 0.05
    ambient: float = 0.05
    max_pixel_motion: float = 1.0
    body: BodyModel = field(default_factory=proba2_like)

    def __post_init__(self) -> None:
        if self.time_unit not in TICKS_PER_SECOND:
            raise ValueError(f'time_unit={self.time_unit!r}, expected one of '
                             f'{sorted(TICKS_PER_SECOND)}')
        if self.duration < 1 / LABEL_RATE:
            raise ValueError(f'duration={self.duration} s is shorter than one label period '
                             f'({1 / LABEL_RATE} s)')


def camera_for_resolution(resolution: tuple[int, int]) -> dict:
    """The SPADES camera (``camera.json`` content) with ``K`` scaled to ``(W, H)``.

    ``K' = diag(W / 1280, H / 720, 1) · K`` is exact under the pixel convention (pixel
    ``x`` covers ``[x, x + 1)``), and keeps ``cx = W / 2``.
    """
    width, height = resolution
    scale = np.diag([width / SPADES_CAMERA['Nu'], height / SPADES_CAMERA['Nv'], 1.0])
    K = scale @ np.asarray(SPADES_CAMERA['cameraMatrix'], np.float64)
    return dict(SPADES_CAMERA, Nu=width, Nv=height, cameraMatrix=K.tolist())


def sequence_name(index: int) -> str:
    """File stem of sequence ``index``: ``RT000``, ``RT901``, ..."""
    return f'RT{index:03d}'


def frame_times(body: BodyModel, trajectory: Trajectory, K: np.ndarray,
                duration: float, max_pixel_motion: float) -> np.ndarray:
    """Frame times such that no body point moves more than ``max_pixel_motion`` between them.

    The motion of each base interval is the largest displacement of a box corner's
    projection (a rigid motion moves some vertex farthest); the interval is cut into as many
    equal frames as that needs.

    Returns:
        ``(F,)`` increasing times (s) from 0 to ``duration``.
    """
    base = np.linspace(0, duration, int(np.ceil(duration / _BASE_INTERVAL)) + 1)
    rotation, translation = trajectory.pose(base)
    points = body.corners @ rotation.transpose(0, 2, 1) + translation[:, None]
    pixels = points @ K[:2].T / points[..., 2:]
    motion = np.linalg.norm(np.diff(pixels, axis=0), axis=-1).max(axis=1)
    splits = np.maximum(np.ceil(motion / max_pixel_motion), 1).astype(int)
    start = np.repeat(base[:-1], splits)
    step = np.repeat(np.diff(base) / splits, splits)
    within = np.arange(len(start)) - np.repeat(np.cumsum(splits) - splits, splits) + 1
    return np.concatenate([[0.0], start + within * step])


@numba.njit(cache=True)
def _tick_order(ticks: np.ndarray) -> np.ndarray:
    """Stable order sorting integer ``ticks`` (a counting sort: a block spans few ticks).

    Its plain reference is ``np.argsort(ticks, kind='stable')``, which it equals (tested);
    ``ticks`` must not be empty.
    """
    low = ticks.min()
    starts = np.zeros(ticks.max() - low + 2, np.int64)
    for tick in ticks:
        starts[tick - low + 1] += 1
    starts = np.cumsum(starts)
    order = np.empty(len(ticks), np.int64)
    for i, tick in enumerate(ticks):
        order[starts[tick - low]] = i
        starts[tick - low] += 1
    return order


def _block_ends(times: np.ndarray) -> np.ndarray:
    """Indices of the frames that close the event blocks (the first at or after each
    multiple of ``_BLOCK_SECONDS``, and the last frame)."""
    ends = np.searchsorted(times, np.arange(1, int(times[-1] / _BLOCK_SECONDS) + 1)
                           * _BLOCK_SECONDS)
    return np.unique(np.append(ends[ends < len(times)], len(times) - 1))


def simulate_events(body: BodyModel, trajectory: Trajectory, K: np.ndarray, sun: np.ndarray,
                    simulator: EventSimulator, options: SequenceOptions
                    ) -> Iterator[dict[str, np.ndarray]]:
    """Render the trajectory frame by frame and turn it into events plus sensor noise.

    Events come in blocks of about ``_BLOCK_SECONDS`` (the frames' events with the noise of
    the same interval), each sorted on its own: blocks follow each other in time, so their
    concatenation is sorted and memory does not grow with the duration.

    Yields:
        ``xs, ys`` uint16, ``ts`` int64 ticks of ``options.time_unit`` (sorted), ``ps`` uint8.
    """
    size = tuple(options.resolution)
    ticks_per_second = TICKS_PER_SECOND[options.time_unit]
    times = frame_times(body, trajectory, K, options.duration, options.max_pixel_motion)
    rotations, translations = trajectory.pose(times)

    def render(i):
        return render_region(body, rotations[i], translations[i], K, size, sun, options.ambient)

    simulator.reset(*render(0), times[0])
    start = 0
    for end in _block_ends(times):
        parts = [simulator.step(*render(i), times[i]) for i in range(start + 1, end + 1)]
        parts.append(simulator.noise_events(times[start], times[end]))
        ticks = np.floor(np.concatenate([e['t'] for e in parts]) * ticks_per_second
                         ).astype(np.int64)
        order = _tick_order(ticks) if len(ticks) else np.zeros(0, np.int64)
        yield dict(xs=np.concatenate([e['x'] for e in parts])[order],
                   ys=np.concatenate([e['y'] for e in parts])[order], ts=ticks[order],
                   ps=np.concatenate([e['p'] for e in parts])[order])
        start = end


def _prepare(seed: int, index: int, options: SequenceOptions) -> dict:
    """Everything of sequence ``index`` but its events: name, labels, poses, event source."""
    rng_traj, rng_events = (np.random.default_rng(s) for s in
                            np.random.SeedSequence(seed, spawn_key=(index,)).spawn(2))
    size = tuple(options.resolution)
    K = np.asarray(camera_for_resolution(size)['cameraMatrix'])
    body = options.body
    trajectory = random_trajectory(rng_traj, K, size, body.bounding_radius,
                                   options.min_distance, options.max_distance,
                                   options.max_tumble_rate,
                                   min_tumble_rate=options.min_tumble_rate)
    sun = rng_traj.standard_normal(3)
    sun[2] = -abs(sun[2])  # the Sun is behind the camera: the visible side is mostly lit
    simulator = EventSimulator(size, rng_events, rng_events.uniform(*options.contrast_threshold),
                               options.threshold_sigma, options.refractory_period,
                               leak_rate=options.leak_rate,
                               shot_noise_rate=options.shot_noise_rate)

    ticks_per_second = TICKS_PER_SECOND[options.time_unit]
    # Label i closes the window (i·100 ms, (i + 1)·100 ms]: the first as soon as one full
    # window exists, the last at the latest full window.
    num_labels = int(np.floor(options.duration * LABEL_RATE + 1e-9))
    label_ticks = np.arange(1, num_labels + 1) * (ticks_per_second // LABEL_RATE)
    label_rot, label_t = trajectory.pose(label_ticks / ticks_per_second)
    name = sequence_name(index)
    if options.with_poses:
        quat = Rotation.from_matrix(label_rot).as_quat(canonical=True)  # (x, y, z, w), w >= 0
        labels = make_labels(name, label_ticks, label_t, quat)
    else:
        labels = make_labels(name, label_ticks, None, None)
    return dict(name=name, labels=labels, poses=(label_rot, label_t),
                events=simulate_events(body, trajectory, K, sun, simulator, options))


def generate_sequence(seed: int, index: int, options: SequenceOptions | None = None) -> dict:
    """Simulate one trajectory in memory (:func:`write_sequence` streams it to a file).

    Args:
        seed: Data-set seed.
        index: Sequence number (also its name, ``RT{index:03d}``).
        options: See :class:`SequenceOptions`; defaults when ``None``.

    Returns:
        ``name``; ``events``: ``xs, ys`` uint16, ``ts`` int64 ticks sorted, ``ps`` uint8
        (1 ON); ``labels``: :func:`make_labels` records (poses only when
        ``options.with_poses``); ``poses``: ``(N, 3, 3)`` rotations and ``(N, 3)``
        translations at the label times, whatever ``with_poses``.
    """
    sequence = _prepare(seed, index, options or SequenceOptions())
    blocks = list(sequence['events'])
    sequence['events'] = {key: np.concatenate([b[key] for b in blocks])
                          for key in ('xs', 'ys', 'ts', 'ps')}
    return sequence


def write_sequence(out_dir: str | Path, seed: int, index: int,
                   options: SequenceOptions | None = None, compression: str | None = None
                   ) -> Path:
    """Generate sequence ``index`` and stream it to ``out_dir/RT{index:03d}.h5``.

    The file equals the one :func:`generate_sequence`'s events would give; memory holds
    one block of events at a time, whatever the duration.

    Args:
        out_dir: Output directory.
        seed: Data-set seed.
        index: Sequence number.
        options: See :class:`SequenceOptions`.
        compression: Event-dataset filter, see :class:`SpadesFileWriter`.

    Returns:
        The written path.
    """
    sequence = _prepare(seed, index, options or SequenceOptions())
    path = Path(out_dir) / f"{sequence['name']}.h5"
    with SpadesFileWriter(path, compression) as writer:
        for block in sequence['events']:
            writer.append(block)
        writer.finish(sequence['labels'])
    return path
