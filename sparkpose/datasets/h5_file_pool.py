"""A per-process, fork-safe LRU of read-only HDF5 handles."""
import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import h5py

from .format_error import unreadable_file_error
from .h5_direct_read import DirectSlices


def open_h5(path: str, **kwargs) -> h5py.File:
    """``h5py.File(path, 'r')``, raising :class:`SPADESFormatError` naming ``path``."""
    try:
        return h5py.File(path, 'r', **kwargs)
    except OSError as err:
        raise unreadable_file_error(path, err) from err


@contextlib.contextmanager
def reading_h5(path: str) -> Iterator[h5py.File]:
    """:func:`open_h5` for a ``with`` block: a read inside it that fails (a damaged file
    may open and fail later) also raises :class:`SPADESFormatError` naming ``path``."""
    try:
        with open_h5(path) as file:
            yield file
    except OSError as err:
        raise unreadable_file_error(path, err) from err


class H5FilePool:
    """Per-process LRU of read-only HDF5 handles, safe across ``fork`` and pickling.

    Handles are opened lazily in the process that reads; a pool inherited through ``fork``
    (DataLoader workers) closes the parent's handles and reopens its own, and a pickled pool
    carries no handles. Reopening a file (open, dataset lookups, close) costs about as much
    as a whole sample (docs/performance.md), so under random access the pool should hold
    every file of a split: an open file costs ~0.1 MiB plus at most ``4 * rdcc_nbytes`` of
    chunk cache (only for chunked datasets), and ``max_open`` bounds the total per process.

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
        entry = self._files[path] = (open_h5(path, rdcc_nbytes=self.rdcc_nbytes), {})
        while len(self._files) > self.max_open:
            self._files.popitem(last=False)[1][0].close()
        return entry

    def get(self, path: str) -> h5py.File:
        """Return an open handle of ``path`` owned by the calling process."""
        return self._entry(path)[0]

    def datasets(self, path: str, names: Sequence[str]) -> list[h5py.Dataset | DirectSlices]:
        """Datasets ``names`` of ``path``, looked up once per handle (lookups are slow);
        uncompressed 1-D ones as :class:`DirectSlices` (faster slices). Either gives
        ``[start:stop]`` slices and ``dtype``; use them right away, as they close with the
        handle."""
        handle, found = self._entry(path)
        for name in names:
            if name not in found:
                dataset = handle[name]
                direct = DirectSlices.from_dataset(dataset)
                found[name] = dataset if direct is None else direct
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
