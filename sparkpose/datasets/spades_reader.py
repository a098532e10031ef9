"""Validated, indexed access to one SPADES trajectory file (``/events`` + ``/labels/data``).

Opening a file checks it once (layout, dtypes, sorted ``ts``, coordinates inside the sensor,
polarities, finite unit-quaternion labels), resolves its timestamp unit, and computes the
``[start, stop)`` event slice of every label's window with a chunked scan, so that a window
is later one contiguous read. Only per-label arrays are kept in memory, never the events.
"""
import hashlib
import logging
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import print_log

from sparkpose.structures import canonical_quaternion

from .format_error import SPADESFormatError, unreadable_file_error
from .h5_file_pool import H5FilePool, reading_h5
from .spades_format import FILE_EVENT_KEYS, POSE_FIELDS
from .time_units import TIME_UNITS, read_time_unit_attr, resolve_time_unit

ANCHORS = ('end', 'center', 'start')
_CACHE_VERSION = 1


def _check_labels(path: str, labels: np.ndarray, quat_tol: float) -> bool:
    """Validate ``/labels/data``; return whether it carries poses."""
    fields = labels.dtype.names or ()
    missing = [name for name in ('filename', 'timestamp') if name not in fields]
    if missing:
        raise SPADESFormatError(f'{path}: /labels/data lacks field(s) {missing} '
                                f'(has {list(fields)})')
    present = [name for name in POSE_FIELDS if name in fields]
    if present and len(present) < len(POSE_FIELDS):
        raise SPADESFormatError(f'{path}: /labels/data has pose fields {present} but lacks '
                                f'{[n for n in POSE_FIELDS if n not in fields]}')
    if len(labels) == 0:
        raise SPADESFormatError(f'{path}: /labels/data is empty')
    if not np.issubdtype(labels.dtype['timestamp'], np.integer):
        raise SPADESFormatError(f'{path}: /labels/data field timestamp has dtype '
                                f"{labels.dtype['timestamp']}, expected integers")
    ts = labels['timestamp']
    bad = np.flatnonzero(np.diff(ts) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise SPADESFormatError(f'{path}: /labels/data timestamps are not increasing at row '
                                f'{i} ({ts[i - 1]} -> {ts[i]})')
    for name in present:
        rows = np.flatnonzero(~np.isfinite(labels[name]))
        if rows.size:
            raise SPADESFormatError(f'{path}: /labels/data row {rows[0]} field {name} is '
                                    f'{labels[name][rows[0]]} (expected a finite number)')
    if present:
        norms = np.linalg.norm(np.stack([labels[n] for n in POSE_FIELDS[3:]], 1), axis=1)
        rows = np.flatnonzero(np.abs(norms - 1) > quat_tol)
        if rows.size:
            raise SPADESFormatError(f'{path}: /labels/data row {rows[0]} quaternion (Qx, Qy, Qz, '
                                    f'Qw) has norm {norms[rows[0]]:.6g}, expected 1 ± {quat_tol}')
    return bool(present)


def _check_range(path: str, key: str, values: np.ndarray, low: int, high: int,
                 offset: int, expected: str) -> None:
    """Raise naming the first value of ``values`` outside ``[low, high)``."""
    if values.size and (values.min() < low or values.max() >= high):
        i = int(np.flatnonzero((values < low) | (values >= high))[0])
        raise SPADESFormatError(f'{path}: /events/{key} has value {values[i]} at index '
                                f'{offset + i}, expected {expected}')


def scan_events(path: str, events: h5py.Group, sensor_size: tuple[int, int],
                boundaries: np.ndarray, chunk_events: int = 1 << 21) -> np.ndarray:
    """Validate all events chunk by chunk and count those at or before each boundary.

    Args:
        path: File name, for messages.
        events: The open ``/events`` group.
        sensor_size: ``(W, H)`` pixels.
        boundaries: ``(M,)`` int64 times in file ticks.
        chunk_events: Events read per chunk (bounds the scan's memory).

    Returns:
        ``(M,)`` int64: number of events with ``ts <= boundary`` (sums over sorted chunks).
    """
    counts = np.zeros(len(boundaries), dtype=np.int64)
    total, last_t = len(events['ts']), None
    width, height = sensor_size
    for lo in range(0, total, chunk_events):
        hi = min(lo + chunk_events, total)
        xs, ys, ts, ps = (events[key][lo:hi] for key in FILE_EVENT_KEYS)
        ts = ts.astype(np.int64, copy=False)
        # Prepend the previous chunk's last tick so a decrease across chunks is caught.
        joined, first = (ts, lo) if last_t is None else (np.concatenate([[last_t], ts]), lo - 1)
        drops = np.flatnonzero(joined[1:] < joined[:-1])
        if drops.size:
            i = first + int(drops[0]) + 1
            raise SPADESFormatError(f'{path}: /events/ts is not sorted (first decrease at '
                                    f'index {i}: {joined[drops[0]]} -> {joined[drops[0] + 1]})')
        _check_range(path, 'xs', xs, 0, width, lo, f'0 <= x < {width} (sensor width)')
        _check_range(path, 'ys', ys, 0, height, lo, f'0 <= y < {height} (sensor height)')
        _check_range(path, 'ps', ps, 0, 2, lo, '0 (OFF) or 1 (ON)')
        counts += np.searchsorted(ts, boundaries, side='right')
        last_t = ts[-1]
    return counts


def _open_layout(path: str, f: h5py.File) -> tuple[h5py.Group, np.ndarray]:
    """Check the groups, dataset kinds, dtypes and lengths; return ``/events`` and labels."""
    layout = 'SPADES layout: /events/{xs,ys,ts,ps} and /labels/data'
    for key in ('events', *(f'events/{k}' for k in FILE_EVENT_KEYS), 'labels', 'labels/data'):
        if key not in f:
            raise SPADESFormatError(f'{path}: missing /{key} ({layout})')
    for key in (*(f'events/{k}' for k in FILE_EVENT_KEYS), 'labels/data'):
        if not isinstance(f[key], h5py.Dataset) or f[key].ndim != 1:
            raise SPADESFormatError(f'{path}: /{key} must be a 1-D dataset ({layout})')
    events = f['events']
    for key in FILE_EVENT_KEYS:
        if not np.issubdtype(events[key].dtype, np.integer):
            raise SPADESFormatError(f'{path}: /events/{key} has dtype {events[key].dtype}, '
                                    f'expected an integer dtype')
    lengths = {key: len(events[key]) for key in FILE_EVENT_KEYS}
    if len(set(lengths.values())) > 1:
        raise SPADESFormatError(f'{path}: /events datasets differ in length {lengths}')
    return events, f['labels/data'][()]


def read_labels(path: str | os.PathLike, quat_tol: float = 1e-3) -> np.ndarray:
    """Validated ``/labels/data`` of a file (layout checked, events not scanned)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: SPADES file not found')
    with reading_h5(path) as f:
        labels = _open_layout(path, f)[1]
    _check_labels(path, labels, quat_tol)
    return labels


class SPADESSequence:
    """One validated SPADES trajectory: its labels, window index and lazily read events.

    Args:
        path: The trajectory ``.h5`` file.
        time_unit: ``'auto'``, ``'100us'`` or ``'us'``; see
            :func:`~sparkpose.datasets.time_units.resolve_time_unit`.
        sensor_size: ``(W, H)`` pixels; events outside are an error.
        window_ms: Window length L (ms).
        anchor: Window of label i at t_i: ``'end'`` (t_i − L, t_i], ``'center'``
            (t_i − L/2, t_i + L/2] or ``'start'`` (t_i, t_i + L].
        quat_tol: Allowed ``|‖q‖ − 1|`` of label quaternions.
        cache_dir: Directory for the scan result (``.npz`` keyed by file path, size, mtime
            and window settings), or None to scan every time.
        pool: Handle pool shared by sequences (bounds open files per process); default: a
            private pool of one handle.
        chunk_events: Events per chunk of the validation scan.

    Attributes:
        timestamps: ``(N,)`` int64 label timestamps, file ticks.
        timestamps_us: ``(N,)`` int64 label timestamps, µs.
        window_us: ``(N, 2)`` int64 ``(t_start, t_end]`` of each window, µs.
        event_slices: ``(N, 2)`` int64 ``[start, stop)`` event indices of each window.
        translations: ``(N, 3)`` float64 metres, or None for a file without poses.
        quaternions: ``(N, 4)`` float64 scalar-last, renormalised, ``w >= 0``; or None.
    """

    def __init__(self, path: str | os.PathLike, time_unit: str = 'auto',
                 sensor_size: tuple[int, int] = (1280, 720), window_ms: float = 100.0,
                 anchor: str = 'end', quat_tol: float = 1e-3,
                 cache_dir: str | os.PathLike | None = None, pool: H5FilePool | None = None,
                 chunk_events: int = 1 << 21) -> None:
        self.path = os.fspath(path)
        self.name = Path(self.path).stem
        self.sensor_size = tuple(int(v) for v in sensor_size)
        if time_unit != 'auto' and time_unit not in TIME_UNITS:
            raise ValueError(f"{self.path}: time_unit={time_unit!r}; expected 'auto', '100us' "
                             f"or 'us'")
        if anchor not in ANCHORS:
            raise ValueError(f'{self.path}: anchor={anchor!r}; expected one of {ANCHORS}')
        length_us = round(window_ms * 1000)
        if length_us <= 0:
            raise ValueError(f'{self.path}: window_ms={window_ms} must be positive')
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f'{self.path}: SPADES file not found')
        self._pool = pool if pool is not None else H5FilePool(max_open=1)
        with reading_h5(self.path) as f:
            events, labels = _open_layout(self.path, f)
            has_pose = _check_labels(self.path, labels, quat_tol)
            self.timestamps = labels['timestamp'].astype(np.int64)
            self.time_unit = resolve_time_unit(self.path, self.timestamps, time_unit,
                                               read_time_unit_attr(self.path, f))
            self.tick_us = TIME_UNITS[self.time_unit]
            self.timestamps_us = self.timestamps * self.tick_us
            offset = {'end': -length_us, 'center': -(length_us // 2), 'start': 0}[anchor]
            start = self.timestamps_us + offset
            self.window_us = np.stack([start, start + length_us], axis=1)
            # An event of tick k is at k * tick_us µs: k * tick_us <= b iff k <= b // tick_us.
            boundaries = (self.window_us // self.tick_us).ravel()
            self.num_events = len(events['ts'])
            cache = None if cache_dir is None else self._cache_file(cache_dir, boundaries)
            counts = _load_cache(cache, len(boundaries))
            if counts is None:
                counts = scan_events(self.path, events, self.sensor_size, boundaries,
                                     chunk_events)
                _save_cache(cache, counts)
        self.event_slices = counts.reshape(-1, 2)
        self.translations = self.quaternions = None
        if has_pose:
            self.translations = np.stack([labels[n] for n in POSE_FIELDS[:3]], 1).astype(float)
            quat = torch.from_numpy(np.stack([labels[n] for n in POSE_FIELDS[3:]], 1))
            self.quaternions = canonical_quaternion(F.normalize(quat.double(), dim=1)).numpy()

    @property
    def has_pose(self) -> bool:
        """Whether the labels carry poses (training files) or only timestamps (test files)."""
        return self.translations is not None

    def __len__(self) -> int:
        return len(self.timestamps)

    def _cache_file(self, cache_dir: str | os.PathLike, boundaries: np.ndarray) -> Path:
        stat = os.stat(self.path)
        key = hashlib.sha1(repr((_CACHE_VERSION, os.path.realpath(self.path), stat.st_size,
                                 stat.st_mtime_ns, self.sensor_size)).encode())
        key.update(boundaries.tobytes())
        return Path(cache_dir) / f'{self.name}-{key.hexdigest()[:20]}.npz'

    def read_events(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """Read events ``[start, stop)`` of the file.

        Returns:
            ``dict(x, y, t, p)``: ``(n,)`` pixels in the file's integer dtype (uint16 in
            SPADES files: widening them cost as much as the voxel kernel; transforms that
            shift coordinates convert to signed first), int64 µs and uint8 polarity
            (1 ON, 0 OFF); zero-length arrays when ``start == stop``.
        """
        if not 0 <= start <= stop <= self.num_events:
            raise IndexError(f'{self.path}: event range [{start}, {stop}) is outside '
                             f'[0, {self.num_events}]')
        keys = [f'events/{key}' for key in FILE_EVENT_KEYS]
        try:
            xs, ys, ts, ps = (d[start:stop] if stop > start else np.zeros(0, d.dtype)
                              for d in self._pool.datasets(self.path, keys))
        except OSError as err:  # changed or damaged since it was indexed
            raise unreadable_file_error(self.path, err) from err
        t = ts.astype(np.int64, copy=False)  # a slice is a fresh array: scale in place
        if self.tick_us != 1:
            t *= self.tick_us
        return dict(x=xs, y=ys, t=t, p=ps.astype(np.uint8, copy=False))

    def read_window(self, label_index: int) -> dict[str, np.ndarray]:
        """Read the events of label ``label_index``'s window (see :meth:`read_events`)."""
        start, stop = self.event_slices[label_index]
        return self.read_events(int(start), int(stop))


def _load_cache(cache: Path | None, size: int) -> np.ndarray | None:
    """Counts stored by a previous scan, or None when absent or unreadable."""
    if cache is None or not cache.is_file():
        return None
    try:
        with np.load(cache) as data:
            counts = data['counts']
    except (OSError, ValueError, KeyError):
        return None
    return counts if counts.shape == (size,) else None


def _save_cache(cache: Path | None, counts: np.ndarray) -> None:
    """Store counts atomically (parallel ranks may write the same entry); warn on failure."""
    if cache is None:
        return
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache.parent, suffix='.npz', delete=False) as tmp:
            np.savez(tmp, counts=counts)
        os.replace(tmp.name, cache)
    except OSError as err:
        print_log(f'SPADES index cache not written ({cache}): {err}', logger='current',
                  level=logging.WARNING)
