"""SPADES event-based pose dataset: one sample per label, its window's events and pose."""
import json
import logging
import os
import os.path as osp
import time
from collections.abc import Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from sparkpose.registry import DATASETS, TRANSFORMS

from .h5_file_pool import H5FilePool
from .samplers import SeededIndex, sample_generator
from .spades_format import SPADES_CAMERA, read_split
from .spades_reader import SPADESSequence


def load_camera(path: str) -> tuple[tuple[int, int], np.ndarray]:
    """Read ``camera.json`` (``Nu``, ``Nv``, ``cameraMatrix``); the SPADES camera if absent.

    A missing file is a warning, not an error: synthetic sets made at the SPADES resolution
    and the challenge's test folders may come without one. The warning names the camera
    assumed, since a wrong one silently breaks every crop and PnP pose.

    Returns:
        ``(W, H)`` sensor size in pixels and the ``(3, 3)`` float64 intrinsics.
    """
    if osp.isfile(path):
        try:
            with open(path, encoding='utf-8') as f:
                camera = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f'{path}: not a readable camera JSON file ({err})') from err
        missing = [key for key in ('Nu', 'Nv', 'cameraMatrix')
                   if not isinstance(camera, dict) or key not in camera]
        if missing:
            raise ValueError(f'{path}: camera file lacks {missing} (expected Nu, Nv, '
                             f'cameraMatrix as in the SPADES camera.json)')
    else:
        print_log(f'{path} not found; assuming the SPADES camera (1280x720, f=1258.6 px, '
                  f'principal point at the centre); write a camera.json if your sensor '
                  f'differs', logger='current', level=logging.WARNING)
        camera = SPADES_CAMERA
    cam_k = np.asarray(camera['cameraMatrix'], dtype=np.float64)
    if cam_k.shape != (3, 3):
        raise ValueError(f'{path}: cameraMatrix has shape {cam_k.shape}, expected (3, 3)')
    if np.any(np.asarray(camera.get('distCoeffs', [])) != 0):
        print_log(f'{path}: distCoeffs are not zero; events are used undistorted',
                  logger='current', level=logging.WARNING)
    return (int(camera['Nu']), int(camera['Nv'])), cam_k


def default_index_cache_dir() -> str:
    """Default folder of the SPADES index cache: ``<cache>/spades_index``.

    ``<cache>`` is ``$SPARKPOSE_CACHE_DIR``, else ``$XDG_CACHE_HOME/sparkpose``, else
    ``~/.cache/sparkpose``.
    """
    root = os.environ.get('SPARKPOSE_CACHE_DIR') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'), 'sparkpose')
    return osp.join(root, 'spades_index')


@DATASETS.register_module()
class SPADESDataset(BaseDataset):
    """SPADES / SPARK 2026 stream 2: a sample per label, with the events of its window.

    ``data_list`` holds only label facts (no events), so it serialises small; the events
    of a sample are read in :meth:`prepare_data` through the sequence's index, each
    DataLoader worker with its own bounded set of HDF5 handles. A sample enters the
    pipeline as ``seq_id, label_index, timestamp`` (file ticks), ``timestamp_us``,
    ``window_us`` ``(t_start, t_end]``, ``events`` (``x, y, t`` in µs, ``p``),
    ``num_events`` (the window's, before any transform), ``sensor_size``, ``cam_K`` (of
    the sequence's folder) and, for files with poses, ``gt_t`` (m) and ``gt_q``
    (scalar-last). Translations are not normalised here: the head's codec does that.

    Args:
        data_root: Folder of ``<name>.h5`` files, ``camera.json`` and split lists.
        split: List file (relative to ``data_root``) with one sequence name per line;
            exclusive with ``sequences``. A name may lie in a sub-folder
            (``full_sensor/RT000``); such a sequence is seen through the sub-folder's own
            ``camera.json`` where it has one, so one set can hold data of several sensors.
        sequences: Sequence names, e.g. ``['RT000', 'RT001']``.
        window_ms: Window length (ms).
        anchor: ``'end'`` (window ends at the label), ``'center'`` or ``'start'``.
        time_unit: ``'auto'``, ``'100us'`` or ``'us'`` for every file; see
            :func:`~sparkpose.datasets.time_units.resolve_time_unit`.
        camera_file: Camera JSON (relative to ``data_root``); the SPADES camera if absent.
        label_stride: Keep every k-th label of each sequence (e.g. a quick validation).
        index_cache_dir: Where to keep each file's validation scan and window index (a
            small ``.npz`` keyed by path, size, mtime and window settings); ``'auto'``:
            :func:`default_index_cache_dir`; None: scan at every start. The scan reads every
            event once (hundreds of GB for the full set), which would otherwise repeat at
            each start, for each dataset and each DDP rank.
        max_open_files: Open HDF5 handles per process (LRU); the default keeps every file
            of the 300-sequence set open (~0.1 MiB each), as reopening costs about a
            sample's time (docs/performance.md).
        data_prefix: ``dict(events=...)``: sub-folder of ``data_root`` with the files.
        **kwargs: ``pipeline``, ``test_mode``, ``lazy_init``, ``serialize_data``,
            ``metainfo``, ``indices`` ... of :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(dataset_name='SPADES')

    def __init__(self, data_root: str = '', split: str = '',
                 sequences: Sequence[str] | None = None, window_ms: float = 100.0,
                 anchor: str = 'end', time_unit: str = 'auto',
                 camera_file: str = 'camera.json', label_stride: int = 1,
                 index_cache_dir: str | None = 'auto', max_open_files: int = 320,
                 data_prefix: dict | None = None, **kwargs) -> None:
        if bool(split) == (sequences is not None):
            raise ValueError(f'SPADESDataset({data_root!r}): give either split (a list file) '
                             f'or sequences (names), not {"both" if split else "neither"}')
        if sequences is not None and not len(sequences):
            raise ValueError(f'SPADESDataset({data_root!r}): sequences is empty')
        if label_stride < 1:
            raise ValueError(f'SPADESDataset: label_stride must be >= 1, got {label_stride}')
        self.sequence_names = None if sequences is None else list(sequences)
        self.window_ms, self.anchor, self.time_unit = window_ms, anchor, time_unit
        self.label_stride = label_stride
        self.index_cache_dir = (default_index_cache_dir() if index_cache_dir == 'auto'
                                else index_cache_dir)
        self.camera_file = camera_file
        self.sensor_size, self.cam_K = load_camera(
            camera_file if osp.isabs(camera_file) else osp.join(data_root, camera_file))
        self.sequences: dict[str, SPADESSequence] = {}
        self.cameras: dict[str, tuple[tuple[int, int], np.ndarray]] = {}
        self._pool = H5FilePool(max_open=max_open_files)
        # Built from our registry, so pipeline types resolve without a default scope.
        kwargs['pipeline'] = [TRANSFORMS.build(t) if isinstance(t, dict) else t
                              for t in kwargs.get('pipeline', [])]
        kwargs['metainfo'] = dict(sensor_size=self.sensor_size, cam_K=self.cam_K.tolist(),
                                  **(kwargs.get('metainfo') or {}))
        super().__init__(ann_file=split, data_root=data_root,
                         data_prefix=data_prefix or dict(events=''), **kwargs)

    def load_data_list(self) -> list[dict]:
        """Open, validate and index every sequence; one entry per kept label."""
        source, started = self.ann_file or 'sequences=[...]', time.perf_counter()
        data_list, self.sequences, self.cameras, folder_cameras = [], {}, {}, {}
        names = self.sequence_names
        for name in read_split(self.data_root, self.ann_file) if names is None else names:
            path = osp.join(self.data_prefix['events'], f'{name}.h5')
            if name in self.sequences:
                raise ValueError(f'{self.data_root}: sequence {name!r} listed twice in {source}')
            if not osp.isfile(path):
                raise FileNotFoundError(f'{self.data_root}: sequence {name!r} listed in '
                                        f'{source} has no file {path}')
            folder = osp.dirname(name)
            if folder not in folder_cameras:
                folder_cameras[folder] = self._folder_camera(folder)
            sensor_size, cam_k = folder_cameras[folder]
            seq = SPADESSequence(path, time_unit=self.time_unit, sensor_size=sensor_size,
                                 window_ms=self.window_ms, anchor=self.anchor,
                                 cache_dir=self.index_cache_dir, pool=self._pool)
            self.sequences[name] = seq
            self.cameras[name] = sensor_size, cam_k
            for i in range(0, len(seq), self.label_stride):
                # Plain Python values pickle ~5x smaller than small arrays (serialize_data).
                info = dict(seq_id=name, label_index=i, timestamp=int(seq.timestamps[i]),
                            timestamp_us=int(seq.timestamps_us[i]),
                            window_us=tuple(int(v) for v in seq.window_us[i]))
                if seq.has_pose:
                    info.update(gt_t=tuple(seq.translations[i].tolist()),
                                gt_q=tuple(seq.quaternions[i].tolist()))
                data_list.append(info)
        print_log(f'SPADESDataset: {len(self.sequences)} sequences, {len(data_list)} samples '
                  f'from {source}, indexed in {time.perf_counter() - started:.1f} s (index '
                  f'cache: {self.index_cache_dir})', logger='current')
        return data_list

    def _folder_camera(self, folder: str) -> tuple[tuple[int, int], np.ndarray]:
        """The camera of a sub-folder's sequences: its own camera file, else the set's."""
        path = osp.join(self.data_root, folder, self.camera_file)
        if folder and not osp.isabs(self.camera_file) and osp.isfile(path):
            return load_camera(path)
        return self.sensor_size, self.cam_K

    def get_data_info(self, idx: int) -> dict:
        """Label facts of sample ``idx`` with the camera, without events."""
        info = super().get_data_info(idx)
        sensor_size, cam_k = self.cameras[info['seq_id']]
        info.update(sensor_size=sensor_size, cam_K=cam_k.copy())
        for key in ('gt_t', 'gt_q'):
            if key in info:
                info[key] = np.asarray(info[key], dtype=np.float64)
        return info

    def prepare_data(self, idx: int | SeededIndex) -> dict:
        """Sample ``idx`` with its window's events, through the pipeline.

        A :class:`SeededIndex` (from :class:`~sparkpose.datasets.SeededSampler`) also seeds
        the random transforms; mmengine's ``__getitem__`` hands the index here as given, so
        the seed travels with it rather than through the dataset's state.
        """
        seeded = idx if isinstance(idx, SeededIndex) else None
        index = idx.index if seeded else idx
        info = self.get_data_info(index)
        info['events'] = self.sequences[info['seq_id']].read_window(info['label_index'])
        # Counted before any transform: a window without events is flagged, not guessed.
        info['num_events'] = len(info['events']['t'])
        if seeded:
            info['rng'] = sample_generator(seeded.seed, seeded.epoch, index)
        return self.pipeline(info)
