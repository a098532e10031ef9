"""Slices of uncompressed 1-D HDF5 datasets read straight from the file, one pread per chunk."""
import math
import os

import h5py
import numpy as np


class DirectSlices:
    """``dataset[start:stop]`` of an uncompressed 1-D dataset, read with ``os.preadv`` at
    the byte offsets of its chunks instead of through HDF5.

    h5py spends most of a window's read outside the copy (selections, chunk lookups, its
    read path), a sizeable share of a training sample's CPU time over the four event
    datasets (docs/performance.md). The chunk map is read once, when
    the handle is opened. :meth:`from_dataset` gives None where the layout does not allow
    it (filters such as compression, non-native byte order, unallocated chunks, a file
    driver without a file descriptor), and the caller keeps h5py's slicing.

    Args:
        fd: The open file's descriptor (HDF5's own: positioned reads do not move it).
        dtype: Element dtype (native byte order).
        length: Elements in the dataset.
        chunk_len: Elements per chunk (``length`` for a contiguous dataset).
        chunk_offsets: ``(ceil(length / chunk_len),)`` byte offset of each chunk in the file.
    """

    def __init__(self, fd: int, dtype: np.dtype, length: int, chunk_len: int,
                 chunk_offsets: np.ndarray) -> None:
        self.fd, self.dtype, self.length = fd, np.dtype(dtype), length
        self.chunk_len, self.chunk_offsets = chunk_len, chunk_offsets

    @classmethod
    def from_dataset(cls, dataset: h5py.Dataset) -> 'DirectSlices | None':
        """The direct reader of ``dataset``, or None where only HDF5 can read it."""
        if dataset.ndim != 1 or not dataset.dtype.isnative or not hasattr(os, 'preadv'):
            return None
        try:
            fd = dataset.file.id.get_vfd_handle()
        except (ValueError, RuntimeError, OSError):
            return None
        if not isinstance(fd, int):
            return None
        dsid, (length,) = dataset.id, dataset.shape
        plist = dsid.get_create_plist()
        if plist.get_nfilters():
            return None
        if plist.get_layout() == h5py.h5d.CONTIGUOUS:
            offset = dsid.get_offset()
            return None if offset is None else cls(fd, dataset.dtype, length, max(length, 1),
                                                   np.array([offset], np.int64))
        if plist.get_layout() != h5py.h5d.CHUNKED:
            return None
        (chunk_len,) = dataset.chunks
        chunk_bytes = chunk_len * dataset.dtype.itemsize
        offsets = np.full(math.ceil(length / chunk_len), -1, np.int64)
        for i in range(dsid.get_num_chunks()):
            info = dsid.get_chunk_info(i)
            if info.filter_mask or info.size != chunk_bytes:
                return None
            offsets[info.chunk_offset[0] // chunk_len] = info.byte_offset
        if (offsets < 0).any():  # an unwritten chunk reads as the fill value in HDF5
            return None
        return cls(fd, dataset.dtype, length, chunk_len, offsets)

    def __getitem__(self, key: slice) -> np.ndarray:
        """Elements ``key`` (a slice with step 1) as a new array."""
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError(f'DirectSlices: only [start:stop] slices, got {key!r}')
        start, stop, _ = key.indices(self.length)
        out = np.empty(max(stop - start, 0), self.dtype)
        buffer, size = memoryview(out).cast('B'), self.dtype.itemsize
        position = start
        while position < stop:
            chunk, within = divmod(position, self.chunk_len)
            end = min(stop, (chunk + 1) * self.chunk_len)
            self._read_fully(buffer[(position - start) * size:(end - start) * size],
                             int(self.chunk_offsets[chunk]) + within * size)
            position = end
        return out

    def _read_fully(self, buffer: memoryview, offset: int) -> None:
        """Fill ``buffer`` from byte ``offset``; a file that ends early is an OSError."""
        while len(buffer):
            count = os.preadv(self.fd, [buffer], offset)
            if count == 0:
                raise OSError(f'file ends at byte {offset}, before the data HDF5 points to')
            buffer, offset = buffer[count:], offset + count

    def __len__(self) -> int:
        return self.length
