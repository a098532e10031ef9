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
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
from mmengine.logging import print_log

from sparkpose.simulation.spades_writer import POSE_FIELDS

# Microseconds per file tick.
TIME_UNITS = {'100us': 100, 'us': 1}
LABEL_PERIOD_US = 100_000  # labels come at 10 Hz
ANCHORS = ('end', 'center', 'start')
EVENT_KEYS = ('xs', 'ys', 'ts', 'ps')
_CACHE_VERSION = 1


class SPADESFormatError(ValueError):
    """A SPADES file does not follow the layout or conventions of DESIGN.md §1."""


class H5FilePool:
    """Per-process LRU of read-only HDF5 handles, safe across ``fork`` and pickling.

    Handles are opened lazily in the process that reads; a pool inherited through ``fork``
    (DataLoader workers) closes the parent's handles and reopens its own, and a pickled pool
    carries no handles. Reopening a file costs ~1.5 ms (open, dataset lookups, close), about
    as much as a whole sample, so under random access the pool should hold every file of a
    split: an open file costs ~0.1 MiB plus at most ``4 * rdcc_nbytes`` of chunk cache
    (only for chunked datasets), and ``max_open`` bounds the total per process.

    Args:
        max_open: Most files kept open at once (LRU beyond).
        rdcc_nbytes: h5py chunk cache per dataset (bytes); a window is read once under
            random access, so a large cache would only cost memory.
    """

    def __init__(self, max_open: int = 320, rdcc_nbytes: int = 1 << 17) -> None:
        if max_open < 1:
            raise ValueError(f'H5FilePool: max_open must be >= 1, got {max_open}')
        self.max_open = max_open
        self.rdcc_nbytes = rdcc_nbytes
        # path -> (handle, datasets looked up in it so far)
        self._files: OrderedDict[str, tuple[h5py.File, dict]] = OrderedDict()
        self._pid = os.getpid()

    def _entry(self, path: str) -> tuple[h5py.File, dict]:
        if self._pid != os.getpid():
            self.close()  # closes this process's copies of the parent's handles only
            self._pid = os.getpid()
        entry = self._files.get(path)
        if entry is not None:
            self._files.move_to_end(path)
            return entry
        entry = self._files[path] = (h5py.File(path, 'r', rdcc_nbytes=self.rdcc_nbytes), {})
        while len(self._files) > self.max_open:
            self._files.popitem(last=False)[1][0].close()
        return entry

    def get(self, path: str) -> h5py.File:
        """Return an open handle of ``path`` owned by the calling process."""
        return self._entry(path)[0]

    def datasets(self, path: str, names: Sequence[str]) -> list[h5py.Dataset]:
        """Datasets ``names`` of ``path``, looked up once per handle (a lookup costs ~30 µs)."""
        handle, found = self._entry(path)
        for name in names:
            if name not in found:
                found[name] = handle[name]
        return [found[name] for name in names]

    def close(self) -> None:
        """Close every handle of the pool."""
        for handle, _ in self._files.values():
            handle.close()
        self._files.clear()

    def __len__(self) -> int:
        return len(self._files)

    def __getstate__(self) -> dict:
        return dict(max_open=self.max_open, rdcc_nbytes=self.rdcc_nbytes)

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)


def _read_time_unit_attr(path: str, f: h5py.File) -> str | None:
    """The ``time_unit`` attribute of the root or ``/events`` (they must agree), or None."""
    found = {}
    for where, attrs in (('/', f.attrs), ('/events', f['events'].attrs)):
        if 'time_unit' in attrs:
            value = attrs['time_unit']
            value = value.decode() if isinstance(value, bytes) else str(value)
            if value not in TIME_UNITS:
                raise SPADESFormatError(f'{path}: attribute time_unit={value!r} of {where} is '
                                        f'not one of {sorted(TIME_UNITS)}')
            found[where] = value
    if len(set(found.values())) > 1:
        raise SPADESFormatError(f'{path}: time_unit attributes disagree: {found}')
    return next(iter(found.values()), None)


def resolve_time_unit(path: str, label_ts: np.ndarray, requested: str,
                      attribute: str | None, spacing_tol: float = 0.2) -> str:
    """Decide the tick unit of a file from the config, its attribute and its label spacing.

    All available evidence must agree: an explicit unit that contradicts the file's
    attribute or the 10 Hz label spacing is refused, as is ``'auto'`` without an attribute
    when the spacing matches neither ≈1000 ticks (100 µs) nor ≈100000 ticks (1 µs).

    Args:
        path: File name, for messages.
        label_ts: ``(N,)`` label timestamps in file ticks, increasing.
        requested: ``'auto'``, ``'100us'`` or ``'us'``.
        attribute: The file's ``time_unit`` attribute, or None.
        spacing_tol: Relative tolerance on the median label spacing.

    Returns:
        ``'100us'`` or ``'us'``.
    """
    hint = "set time_unit='100us' (synthetic files) or 'us' (recorded/test files)"
    if requested != 'auto' and attribute is not None and requested != attribute:
        raise SPADESFormatError(f'{path}: time_unit={requested!r} contradicts the file '
                                f'attribute time_unit={attribute!r}')
    detected, spacing = None, None
    if len(label_ts) >= 2:
        spacing = float(np.median(np.diff(label_ts)))
        matches = [unit for unit, tick_us in TIME_UNITS.items()
                   if abs(spacing * tick_us - LABEL_PERIOD_US) <= spacing_tol * LABEL_PERIOD_US]
        detected = matches[0] if len(matches) == 1 else None
    unit = requested if requested != 'auto' else attribute or detected
    if unit is None:
        why = (f'median label spacing is {spacing:g} ticks' if spacing is not None
               else f'it has {len(label_ts)} label(s)')
        raise SPADESFormatError(
            f'{path}: cannot tell the timestamp unit ({why}; 10 Hz labels are 1000 ticks '
            f'apart in 100 µs ticks, 100000 in 1 µs ticks); {hint}')
    if detected is not None and detected != unit:
        raise SPADESFormatError(
            f'{path}: time_unit {unit!r} contradicts the label spacing ({spacing:g} ticks '
            f'median, i.e. 10 Hz in {detected!r} ticks); a wrong unit makes windows 100x off')
    return unit


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
        xs, ys, ts, ps = (events[key][lo:hi] for key in EVENT_KEYS)
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
    for key in ('events', *(f'events/{k}' for k in EVENT_KEYS), 'labels', 'labels/data'):
        if key not in f:
            raise SPADESFormatError(f'{path}: missing /{key} ({layout})')
    for key in (*(f'events/{k}' for k in EVENT_KEYS), 'labels/data'):
        if not isinstance(f[key], h5py.Dataset) or f[key].ndim != 1:
            raise SPADESFormatError(f'{path}: /{key} must be a 1-D dataset ({layout})')
    events = f['events']
    for key in EVENT_KEYS:
        if not np.issubdtype(events[key].dtype, np.integer):
            raise SPADESFormatError(f'{path}: /events/{key} has dtype {events[key].dtype}, '
                                    f'expected an integer dtype')
    lengths = {key: len(events[key]) for key in EVENT_KEYS}
    if len(set(lengths.values())) > 1:
        raise SPADESFormatError(f'{path}: /events datasets differ in length {lengths}')
    return events, f['labels/data'][()]


def read_labels(path: str | os.PathLike, quat_tol: float = 1e-3) -> np.ndarray:
    """Validated ``/labels/data`` of a file (layout checked, events not scanned)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: SPADES file not found')
    with h5py.File(path, 'r') as f:
        labels = _open_layout(path, f)[1]
    _check_labels(path, labels, quat_tol)
    return labels


class SPADESSequence:
    """One validated SPADES trajectory: its labels, window index and lazily read events.

    Args:
        path: The trajectory ``.h5`` file.
        time_unit: ``'auto'``, ``'100us'`` or ``'us'``; see :func:`resolve_time_unit`.
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
        with h5py.File(self.path, 'r') as f:
            events, labels = _open_layout(self.path, f)
            has_pose = _check_labels(self.path, labels, quat_tol)
            self.timestamps = labels['timestamp'].astype(np.int64)
            self.time_unit = resolve_time_unit(self.path, self.timestamps, time_unit,
                                               _read_time_unit_attr(self.path, f))
            self.tick_us = TIME_UNITS[self.time_unit]
            self.timestamps_us = self.timestamps * self.tick_us
            offset = {'end': -length_us, 'center': -(length_us // 2), 'start': 0}[anchor]
            start = self.timestamps_us + offset
            self.window_us = np.stack([start, start + length_us], axis=1)
            # An event of tick k is at k * tick_us µs, so k * tick_us <= b iff k <= b // tick_us.
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
            quat = np.stack([labels[n] for n in POSE_FIELDS[3:]], 1).astype(float)
            quat /= np.linalg.norm(quat, axis=1, keepdims=True)
            self.quaternions = np.where(quat[:, 3:] < 0, -quat, quat)

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
            ``dict(x, y, t, p)``: ``(n,)`` int64 pixels, int64 µs and uint8 polarity
            (1 ON, 0 OFF); zero-length arrays when ``start == stop``.
        """
        if not 0 <= start <= stop <= self.num_events:
            raise IndexError(f'{self.path}: event range [{start}, {stop}) is outside '
                             f'[0, {self.num_events}]')
        if start == stop:
            xs, ys, ts, ps = (np.zeros(0, np.int64) for _ in EVENT_KEYS)
        else:
            keys = [f'events/{key}' for key in EVENT_KEYS]
            xs, ys, ts, ps = (d[start:stop] for d in self._pool.datasets(self.path, keys))
        return dict(x=xs.astype(np.int64), y=ys.astype(np.int64),
                    t=np.multiply(ts, self.tick_us, dtype=np.int64),
                    p=ps.astype(np.uint8, copy=False))

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
