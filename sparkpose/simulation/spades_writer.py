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


def write_spades_file(path: str | Path, events: dict[str, np.ndarray],
                      labels: np.ndarray, compression: str | None = None) -> None:
    """Write one trajectory file.

    Args:
        path: Output ``.h5`` path; parent directories are created.
        events: ``xs, ys, ts, ps`` 1-D integer arrays of equal length, sorted by ``ts``.
        labels: Structured array from :func:`make_labels`.
        compression: ``None`` (plain datasets) or an h5py filter for the event datasets,
            ``'gzip'`` (level 1) or ``'lzf'``, with byte shuffling; any HDF5 reader
            decompresses transparently (synthetic events shrink about 5x with ``'gzip'``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    filters = {}
    if compression is not None:
        filters = dict(compression=compression, shuffle=True,
                       compression_opts=1 if compression == 'gzip' else None)
    with h5py.File(path, 'w') as f:
        group = f.create_group('events')
        for key, dtype in EVENT_DTYPES.items():
            group.create_dataset(key, data=np.asarray(events[key]).astype(dtype, copy=False),
                                 **filters)
        f.create_group('labels').create_dataset('data', data=labels)


def write_camera_json(out_dir: str | Path, camera: dict | None = None) -> Path:
    """Write ``camera.json`` (the SPADES intrinsics unless ``camera`` is given)."""
    path = Path(out_dir) / 'camera.json'
    path.write_text(json.dumps(camera or SPADES_CAMERA, indent=2))
    return path


def write_split_files(out_dir: str | Path, splits: dict[str, Sequence[str]]) -> None:
    """Write ``<split>.txt`` files with one sequence name per line."""
    for split, names in splits.items():
        (Path(out_dir) / f'{split}.txt').write_text(''.join(f'{n}\n' for n in names))
