"""Write trajectories in exactly the SPADES / SPARK 2026 stream-2 HDF5 layout.

The layout (docs/data_format.md): ``/events/{xs,ys,ts,ps}`` integer datasets sorted by ``ts``, and
``/labels/data``, a compound dataset with ``filename, Tx, Ty, Tz, Qx, Qy, Qz, Qw,
timestamp``. Timestamps are integers in the file's ticks (100 µs for the synthetic set,
1 µs for recorded/test files); no unit attribute is written, as in the real files.
"""
import json
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from sparkpose.datasets.spades_format import (
    EVENT_DTYPES,
    LABEL_DTYPE,
    LABEL_DTYPE_NO_POSE,
    POSE_FIELDS,
    SPADES_CAMERA,
)


def make_labels(seq_name: str, timestamps: np.ndarray, translations: np.ndarray | None,
                quaternions: np.ndarray | None) -> np.ndarray:
    """Build the ``/labels/data`` records of one sequence.

    Args:
        seq_name: Sequence name, e.g. ``'RT000'`` (used in the ``filename`` field).
        timestamps: ``(N,)`` integer label timestamps in file ticks.
        translations: ``(N, 3)`` metres, or ``None`` for a test file without poses.
        quaternions: ``(N, 4)`` scalar-last; ``None`` exactly when ``translations`` is.

    Returns:
        ``(N,)`` structured array of ``LABEL_DTYPE`` (``LABEL_DTYPE_NO_POSE`` without
        poses).
    """
    has_pose = translations is not None
    labels = np.zeros(len(timestamps), dtype=LABEL_DTYPE if has_pose else LABEL_DTYPE_NO_POSE)
    labels['filename'] = [f'img{i:03d}_{seq_name}.png'.encode() for i in range(len(timestamps))]
    labels['timestamp'] = timestamps
    if has_pose:
        pose = np.concatenate([translations, quaternions], axis=1)
        for k, name in enumerate(POSE_FIELDS):
            labels[name] = pose[:, k]
    return labels


# Events per HDF5 chunk: a 100-ms window of a busy 1280x720 trajectory spans a few chunks,
# and a chunk of ts is 1 MiB, the size of HDF5's default chunk cache.
CHUNK_EVENTS = 1 << 17
# A file of at most this many chunks' events is written at the end as plain contiguous
# datasets: short trajectories (the demo's) pay no partly filled last chunk.
_CONTIGUOUS_CHUNKS = 4


class SpadesFileWriter:
    """Write one trajectory file while its events are being generated.

    Events are appended in time-sorted blocks and written in whole HDF5 chunks, so memory
    holds a few chunks besides the caller's block, and the file does not depend on how
    the events were cut into blocks. The labels come last (:meth:`finish`); leaving the
    ``with`` block on an error deletes the partial file, so a file on disk is complete.

    Args:
        path: Output ``.h5`` path; parent directories are created.
        compression: ``None`` (plain datasets) or an h5py filter for the event datasets,
            ``'gzip'`` (level 1) or ``'lzf'``, with byte shuffling; any HDF5 reader
            decompresses transparently (synthetic events shrink about 5x with ``'gzip'``).
        chunk_events: Events per HDF5 chunk.
    """

    def __init__(self, path: str | Path, compression: str | None = None,
                 chunk_events: int = CHUNK_EVENTS) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._filters = {}
        if compression is not None:
            self._filters = dict(compression=compression, shuffle=True,
                                 compression_opts=1 if compression == 'gzip' else None)
        self._chunk = chunk_events
        self._file = h5py.File(self.path, 'w')
        self._datasets = None  # made once enough chunks are pending, or at the end
        self._pending = {key: [np.zeros(0, dtype)] for key, dtype in EVENT_DTYPES.items()}
        self._num_pending = 0
        self._last_ts = None

    def __enter__(self) -> 'SpadesFileWriter':
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self._file is None:  # finished
            return
        self._file.close()
        self.path.unlink(missing_ok=True)
        if exc_type is None:
            raise RuntimeError(f'{self.path}: SpadesFileWriter left without finish(labels); '
                               f'the incomplete file was deleted')

    def append(self, events: dict[str, np.ndarray]) -> None:
        """Add a block of events, later than (or as late as) every event so far.

        Args:
            events: ``xs, ys, ts, ps`` 1-D integer arrays of equal length, sorted by ``ts``.
        """
        arrays = {key: np.asarray(events[key]).astype(dtype, copy=False)
                  for key, dtype in EVENT_DTYPES.items()}
        lengths = {key: len(value) for key, value in arrays.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f'{self.path}: event arrays of unequal lengths {lengths}')
        ts = arrays['ts']
        if not len(ts):
            return
        if np.any(ts[1:] < ts[:-1]) or (self._last_ts is not None and ts[0] < self._last_ts):
            raise ValueError(f'{self.path}: appended events/ts are not sorted after the '
                             f'previous block (last ts {self._last_ts})')
        self._last_ts = ts[-1]
        for key, value in arrays.items():
            self._pending[key].append(value)
        self._num_pending += len(ts)
        if self._num_pending >= self._chunk * (1 if self._datasets else _CONTIGUOUS_CHUNKS):
            self._flush(self._num_pending // self._chunk * self._chunk)

    def _flush(self, count: int, final: bool = False) -> None:
        """Write the first ``count`` pending events and keep the rest pending.

        A file whose events never filled ``_CONTIGUOUS_CHUNKS`` chunks gets plain contiguous
        datasets of its exact size (when uncompressed): a short trajectory takes no more
        room than its events.
        """
        if self._datasets is None:
            group = self._file.create_group('events')
            if final and not self._filters:
                layout = dict(shape=(count,))
            else:
                layout = dict(shape=(0,), maxshape=(None,),
                              chunks=(min(self._chunk, max(count, 1)),), **self._filters)
            self._datasets = {key: group.create_dataset(key, dtype=dtype, **layout)
                              for key, dtype in EVENT_DTYPES.items()}
        for key, dataset in self._datasets.items():
            pending = np.concatenate(self._pending[key])
            start = 0
            if dataset.chunks is not None:
                start = len(dataset)
                dataset.resize((start + count,))
            if count:
                dataset[start:start + count] = pending[:count]
            self._pending[key] = [pending[count:]]
        self._num_pending -= count

    def finish(self, labels: np.ndarray) -> None:
        """Write the remaining events and the labels, and close the file.

        Args:
            labels: Structured array from :func:`make_labels`.
        """
        if self._num_pending or self._datasets is None:
            self._flush(self._num_pending, final=True)
        self._file.create_group('labels').create_dataset('data', data=labels)
        self._file.close()
        self._file = None


def write_spades_file(path: str | Path, events: dict[str, np.ndarray],
                      labels: np.ndarray, compression: str | None = None) -> None:
    """Write one trajectory file in one go (see :class:`SpadesFileWriter`).

    Args:
        path: Output ``.h5`` path; parent directories are created.
        events: ``xs, ys, ts, ps`` 1-D integer arrays of equal length, sorted by ``ts``.
        labels: Structured array from :func:`make_labels`.
        compression: ``None``, ``'gzip'`` or ``'lzf'``, see :class:`SpadesFileWriter`.
    """
    with SpadesFileWriter(path, compression) as writer:
        writer.append(events)
        writer.finish(labels)


def write_camera_json(out_dir: str | Path, camera: dict | None = None) -> Path:
    """Write ``camera.json`` (the SPADES intrinsics unless ``camera`` is given)."""
    path = Path(out_dir) / 'camera.json'
    path.write_text(json.dumps(camera or SPADES_CAMERA, indent=2))
    return path


def write_split_files(out_dir: str | Path, splits: dict[str, Sequence[str]]) -> None:
    """Write ``<split>.txt`` files with one sequence name per line."""
    for split, names in splits.items():
        (Path(out_dir) / f'{split}.txt').write_text(''.join(f'{n}\n' for n in names))
