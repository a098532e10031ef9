"""Network inputs stored as their non-zero cells: the cheap form to hand between processes."""
import math
from collections.abc import Callable, Sequence

import numba
import numpy as np
import torch

# Planes of at most this many cells (256×256) store their offsets in uint16; int32 beyond.
UINT16_PLANE_CELLS = 1 << 16
INT32_MAX = np.iinfo(np.int32).max


def offset_dtype(plane_cells: int) -> type:
    """The numpy dtype of in-plane offsets for planes of ``plane_cells`` cells."""
    if plane_cells > INT32_MAX:
        raise ValueError(f'SparseInputs: planes of {plane_cells} cells do not fit int32 offsets')
    return np.uint16 if plane_cells <= UINT16_PLANE_CELLS else np.int32


@numba.njit(cache=True, nogil=True)
def _gather_nonzero(bits: np.ndarray, pairs: np.ndarray, indices: np.ndarray,
                    values: np.ndarray) -> int:
    """Write the flat position and the word of every non-zero word of ``bits``, in order;
    return how many.

    ``pairs`` is ``bits`` (its even-length prefix) viewed as uint64: an empty pair costs
    one well-predicted branch, and inside a non-zero pair the writes are branch-free, so
    ``indices`` and ``values`` need one slot of slack (faster than a branch per word on
    clustered grids; docs/performance.md).
    """
    k = 0
    for j in range(pairs.shape[0]):
        if pairs[j] != 0:
            for i in range(2 * j, 2 * j + 2):
                indices[k] = i
                values[k] = bits[i]
                k += bits[i] != 0
    for i in range(2 * pairs.shape[0], bits.shape[0]):
        indices[k] = i
        values[k] = bits[i]
        k += bits[i] != 0
    return k


def nonzero_cells_reference(array: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What :meth:`SparseInputs.from_dense` stores (``_gather_nonzero`` and
    ``_split_by_plane``), with plain numpy: the reference the kernels are tested against.

    A cell is kept when its float32 bit pattern is not zero (so ``-0.0`` and NaN are kept).

    Args:
        array: ``(..., H, W)`` float32 array.

    Returns:
        ``(offsets, values, counts)``: in-plane offsets ``y·W + x`` (int64, increasing per
        plane, planes in C order), the kept float32 values, and the cells per plane.
    """
    planes = array.reshape(-1, array.shape[-2] * array.shape[-1])
    plane, offset = np.nonzero(planes.view(np.uint32))
    return offset, planes[plane, offset], np.bincount(plane, minlength=len(planes))


@numba.njit(cache=True, nogil=True)
def _split_by_plane(indices: np.ndarray, plane_cells: int, offsets: np.ndarray,
                    counts: np.ndarray) -> None:
    """In-plane ``offsets`` and per-plane ``counts`` of increasing flat ``indices``."""
    counts[:] = 0
    plane, plane_start = 0, 0
    for m in range(indices.shape[0]):
        while indices[m] >= plane_start + plane_cells:
            plane, plane_start = plane + 1, plane_start + plane_cells
        offsets[m] = indices[m] - plane_start
        counts[plane] += 1


class SparseInputs:
    """A float tensor of ``shape`` ``(..., H, W)`` stored as its non-zero cells, plane by plane.

    Event voxel grids are mostly empty (the spacecraft covers a small part of the image:
    ~5 % of the cells of a 10×256×256 grid are non-zero on generated SPADES data), and a
    DataLoader worker pays for every byte it hands to the main process (torch copies it
    into fresh shared memory, page faults included; docs/performance.md). This form
    travels instead, and :class:`~sparkpose.models.data_preprocessors.PoseDataPreprocessor`
    densifies it on the model's device, so models never see the difference.

    Each ``H×W`` plane (in C order of the leading dimensions) lists its cells by their
    offset in the plane, ``y·W + x``, increasing: uint16 for planes of up to 65536 cells
    (6 bytes per cell with a float32 value, 8 with int32 offsets beyond), and batches
    concatenate without rewriting any offset. A cell is left out only when its bit pattern
    is ``+0.0``, so :meth:`to_dense` rebuilds the dense tensor bit for bit (``-0.0`` and
    NaN included).

    Args:
        offsets: ``(N,)`` in-plane offsets of the stored cells (:func:`offset_dtype`).
        values: ``(N,)`` values of those cells (float32 from :meth:`from_dense`).
        counts: ``(P,)`` int64 stored cells per plane, ``P`` = the product of
            ``shape[:-2]``.
        shape: Shape of the dense tensor: ``(C, H, W)`` for a sample, ``(B, C, H, W)``
            for a batch (:meth:`stack`).
    """

    def __init__(self, offsets: torch.Tensor, values: torch.Tensor, counts: torch.Tensor,
                 shape: Sequence[int]) -> None:
        self.shape = tuple(int(s) for s in shape)
        if len(self.shape) < 2:
            raise ValueError(f'SparseInputs: shape must be (..., H, W), got {self.shape}')
        if offsets.ndim != 1 or values.ndim != 1 or len(offsets) != len(values):
            raise ValueError(f'SparseInputs: offsets and values must be 1-D of one length, '
                             f'got shapes {tuple(offsets.shape)} and {tuple(values.shape)}')
        expected = torch.uint16 if offset_dtype(self.plane_cells) is np.uint16 else torch.int32
        if offsets.dtype != expected:
            raise ValueError(f'SparseInputs: offsets of {self.plane_cells}-cell planes must be '
                             f'{expected}, got {offsets.dtype}')
        if counts.shape != (self.num_planes,) or counts.dtype != torch.int64:
            raise ValueError(f'SparseInputs: counts must be int64 of shape '
                             f'({self.num_planes},), got {counts.dtype} {tuple(counts.shape)}')
        self.offsets, self.values, self.counts = offsets, values, counts

    @classmethod
    def from_dense(cls, array: np.ndarray | torch.Tensor) -> 'SparseInputs':
        """The non-zero cells of ``array`` ``(..., H, W)`` (as contiguous float32 first).

        Two passes over the grid, one over its cells.
        """
        dense = np.ascontiguousarray(array, dtype=np.float32)
        if dense.ndim < 2:
            raise ValueError(f'SparseInputs: shape must be (..., H, W), got {dense.shape}')
        plane_cells = dense.shape[-2] * dense.shape[-1]
        bits = dense.reshape(-1).view(np.uint32)
        indices = np.empty(np.count_nonzero(bits) + 1, np.int64)
        words = np.empty(len(indices), np.uint32)
        count = _gather_nonzero(bits, bits[:bits.size // 2 * 2].view(np.uint64), indices,
                                words)
        offsets = np.empty(count, offset_dtype(plane_cells))
        counts = np.empty(math.prod(dense.shape[:-2]), np.int64)
        _split_by_plane(indices[:count], plane_cells, offsets, counts)
        return cls(torch.from_numpy(offsets), torch.from_numpy(words[:count].view(np.float32)),
                   torch.from_numpy(counts), dense.shape)

    @classmethod
    def stack(cls, items: Sequence['SparseInputs'],
              empty: Callable[..., torch.Tensor] = torch.empty) -> 'SparseInputs':
        """Stack samples of one shape (CPU tensors) into a batch of shape ``(B, *shape)``.

        Args:
            items: The samples.
            empty: Allocates the batch's tensors, ``empty(size, dtype=...)``; a DataLoader
                collate passes one that allocates in shared memory.
        """
        shapes = sorted({item.shape for item in items})
        if len(shapes) != 1:
            raise ValueError(f'SparseInputs.stack: inputs of one batch have different shapes '
                             f'{shapes}; the representation transform must produce one size')
        parts = {}
        for name in ('offsets', 'values', 'counts'):
            arrays = [getattr(item, name).numpy() for item in items]
            out = empty((sum(len(a) for a in arrays),), dtype=getattr(items[0], name).dtype)
            # numpy, not torch: torch splits copies over 32k elements among its threads,
            # which are slow to wake in a main process that shares its cores.
            np.concatenate(arrays, out=out.numpy())
            parts[name] = out
        return cls(**parts, shape=(len(items), *shapes[0]))

    def to_dense(self, device: torch.device | str | None = None,
                 non_blocking: bool = False) -> torch.Tensor:
        """The dense tensor of ``shape`` on ``device`` (only the stored cells travel there)."""
        values, counts = (t.to(device, non_blocking=non_blocking)
                          for t in (self.values, self.counts))
        if self.offsets.dtype == torch.uint16:
            # Sent as int16 (the same bits): torch has few device kernels for uint16.
            offsets = self.offsets.view(torch.int16).to(device, non_blocking=non_blocking)
            offsets = offsets.long() & 0xFFFF
        else:
            offsets = self.offsets.to(device, non_blocking=non_blocking).long()
        planes = torch.arange(self.num_planes, device=device)
        # output_size is known here: no device-to-host sync to size the result.
        plane = torch.repeat_interleave(planes, counts, output_size=len(self.values))
        dense = torch.zeros(self.numel, dtype=self.values.dtype, device=device)
        dense[plane * self.plane_cells + offsets] = values
        return dense.view(self.shape)

    def pin_memory(self) -> 'SparseInputs':
        """A copy in page-locked memory (what ``DataLoader(pin_memory=True)`` calls), so
        that ``to_dense(..., non_blocking=True)`` copies asynchronously."""
        return SparseInputs(self.offsets.pin_memory(), self.values.pin_memory(),
                            self.counts.pin_memory(), self.shape)

    @property
    def plane_cells(self) -> int:
        """Cells of one ``H×W`` plane."""
        return self.shape[-2] * self.shape[-1]

    @property
    def num_planes(self) -> int:
        """Number of planes (the product of the leading dimensions)."""
        return math.prod(self.shape[:-2])

    @property
    def numel(self) -> int:
        """Number of cells of the dense tensor."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the stored form (offsets, values and per-plane counts)."""
        return sum(t.element_size() * t.numel() for t in (self.offsets, self.values,
                                                           self.counts))

    def __len__(self) -> int:
        """Size of the first dimension, as for a tensor (the batch size of a batch)."""
        return self.shape[0]

    def __repr__(self) -> str:
        return (f'SparseInputs(shape={self.shape}, stored={len(self.values)}, '
                f'dtype={self.values.dtype})')
