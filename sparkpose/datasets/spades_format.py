"""The SPADES / SPARK 2026 stream-2 file contract: keys, dtypes, label fields, the camera and
split lists.

One home for what a file looks like (docs/data_format.md): the reader checks files against
it and the synthetic generator's writer produces files from it.
"""
import os.path as osp

import numpy as np

# The SPADES camera (Prophesee 1280x720), used when a data root has no camera.json.
SPADES_CAMERA = {
    'Nu': 1280,
    'Nv': 720,
    'cameraMatrix': [[1258.6057531097028, 0, 640], [0, 1258.6057531097028, 360], [0, 0, 1]],
    'distCoeffs': [0, 0, 0, 0, 0],
}

POSE_FIELDS = ('Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw')
LABEL_DTYPE = np.dtype([('filename', 'S32')] + [(name, '<f8') for name in POSE_FIELDS]
                       + [('timestamp', '<i8')])
# Test files carry label timestamps but no poses.
LABEL_DTYPE_NO_POSE = np.dtype([('filename', 'S32'), ('timestamp', '<i8')])

# HDF5 datasets under /events, in the order (x, y, t, p), with the dtypes the writer uses.
EVENT_DTYPES = {'xs': np.uint16, 'ys': np.uint16, 'ts': np.int64, 'ps': np.uint8}
FILE_EVENT_KEYS = tuple(EVENT_DTYPES)


def read_split(data_root: str, split_file: str, allow_empty: bool = False) -> list[str]:
    """Sequence names of a split list (one per line; blank lines and '#' comments skipped).

    Args:
        data_root: Dataset folder, for messages.
        split_file: The list file (path as given, already joined with ``data_root``).
        allow_empty: Return ``[]`` for a list without names instead of raising.
    """
    if not osp.isfile(split_file):
        raise FileNotFoundError(f'{data_root}: split file {split_file} not found')
    try:
        with open(split_file, encoding='utf-8') as f:
            names = [line.split('#')[0].strip() for line in f]
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f'{split_file}: not a readable split file (one sequence name per '
                         f'line expected): {err}') from err
    names = [name.removesuffix('.h5') for name in names if name]
    if not names and not allow_empty:
        raise ValueError(f'{data_root}: split file {split_file} lists no sequence')
    return names
