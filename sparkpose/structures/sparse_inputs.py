"""Network inputs stored as their non-zero cells: the cheap form to hand between processes."""
import math
from collections.abc import Callable, Sequence

import numba
import numpy as np
import torch

# Largest flat index that int32 indices can hold; bigger tensors get int64 indices.
INT32_MAX = np.iinfo(np.int32).max


@numba.njit(cache=True, nogil=True)
def _gather_nonzero(bits: np.ndarray, pairs: np.ndarray, indices: np.ndarray,
                    values: np.ndarray) -> None:
    """Write the position and the word of every non-zero word of ``bits``, in order.

    ``pairs`` is ``bits`` (its even-length prefix) viewed as uint64: an empty pair costs
    one well-predicted branch, and inside a non-zero pair the writes are branch-free, so
    ``indices`` and ``values`` need one slot of slack (~2x faster than a branch per word on
    clustered grids).
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


class SparseInputs:
    """A float tensor of ``shape`` stored as its non-zero cells (flat COO, C order).

    Event voxel grids are mostly empty (the spacecraft covers a small part of the image:
    ~5 % of the cells of a 10×256×256 grid are non-zero on generated SPADES data), and a
    DataLoader worker pays for every byte it hands to the main process (torch copies it
    into fresh shared memory: page faults, ~1.3 ms per MB measured here). This form
    travels instead, and :class:`~sparkpose.models.data_preprocessors.PoseDataPreprocessor`
    densifies it on the model's device, so models never see the difference.

    A cell is left out only when its bit pattern is ``+0.0``, so :meth:`to_dense` rebuilds
    the dense tensor bit for bit (``-0.0`` and NaN included).

    Args:
        indices: ``(N,)`` int32 (int64 when ``shape`` has more than 2**31 - 1 cells) flat
            C-order indices of the stored cells, increasing.
        values: ``(N,)`` values of those cells (float32 from :meth:`from_dense`).
        shape: Shape of the dense tensor: ``(C, H, W)`` for a sample, ``(B, C, H, W)``
            for a batch (:meth:`stack`).
    """

    def __init__(self, indices: torch.Tensor, values: torch.Tensor,
                 shape: Sequence[int]) -> None:
        if indices.ndim != 1 or values.ndim != 1 or len(indices) != len(values):
            raise ValueError(f'SparseInputs: indices and values must be 1-D of one length, '
                             f'got shapes {tuple(indices.shape)} and {tuple(values.shape)}')
        if indices.dtype not in (torch.int32, torch.int64):
            raise ValueError(f'SparseInputs: indices must be int32 or int64, got '
                             f'{indices.dtype}')
        self.indices, self.values = indices, values
        self.shape = tuple(int(s) for s in shape)

    @classmethod
    def from_dense(cls, array: np.ndarray | torch.Tensor) -> 'SparseInputs':
        """The non-zero cells of ``array`` (converted to contiguous float32 first).

        Costs ~0.3 ms for a 10×256×256 grid (two passes over it).
        """
        dense = np.ascontiguousarray(array, dtype=np.float32)
        bits = dense.reshape(-1).view(np.uint32)
        count = np.count_nonzero(bits)
        indices = np.empty(count + 1, np.int32 if bits.size <= INT32_MAX else np.int64)
        words = np.empty(count + 1, np.uint32)
        _gather_nonzero(bits, bits[:bits.size // 2 * 2].view(np.uint64), indices, words)
        return cls(torch.from_numpy(indices[:count]),
                   torch.from_numpy(words[:count].view(np.float32)), dense.shape)

    @classmethod
    def stack(cls, items: Sequence['SparseInputs'],
              empty: Callable[..., torch.Tensor] = torch.empty) -> 'SparseInputs':
        """Stack samples of one shape (CPU tensors) into a batch of shape ``(B, *shape)``.

        Args:
            items: The samples.
            empty: Allocates the batch's two tensors, ``empty(size, dtype=...)``; a
                DataLoader collate passes one that allocates in shared memory.
        """
        shapes = sorted({item.shape for item in items})
        if len(shapes) != 1:
            raise ValueError(f'SparseInputs.stack: inputs of one batch have different shapes '
                             f'{shapes}; the representation transform must produce one size')
        cells = math.prod(shapes[0])
        counts = [len(item.values) for item in items]
        index_dtype = torch.int32 if len(items) * cells <= INT32_MAX else torch.int64
        indices = empty((sum(counts),), dtype=index_dtype)
        values = empty((sum(counts),), dtype=items[0].values.dtype)
        # numpy, not torch: torch splits copies over 32k elements among its threads, which
        # cost ~5 ms each in a main process that shares its cores (measured on 2 cores).
        offsets = np.cumsum([0, *counts])
        all_indices, all_values = indices.numpy(), values.numpy()
        for b, item in enumerate(items):
            part = all_indices[offsets[b]:offsets[b + 1]]
            part[:] = item.indices.numpy()
            part += b * cells  # in the batch's dtype: no int32 overflow
            all_values[offsets[b]:offsets[b + 1]] = item.values.numpy()
        return cls(indices, values, (len(items), *shapes[0]))

    def to_dense(self, device: torch.device | str | None = None,
                 non_blocking: bool = False) -> torch.Tensor:
        """The dense tensor of ``shape`` on ``device`` (only the stored cells travel there)."""
        dense = torch.zeros(self.numel, dtype=self.values.dtype, device=device)
        dense[self.indices.to(device, non_blocking=non_blocking)] = self.values.to(
            device, non_blocking=non_blocking)
        return dense.view(self.shape)

    def pin_memory(self) -> 'SparseInputs':
        """A copy in page-locked memory (what ``DataLoader(pin_memory=True)`` calls), so
        that ``to_dense(..., non_blocking=True)`` copies asynchronously."""
        return SparseInputs(self.indices.pin_memory(), self.values.pin_memory(), self.shape)

    @property
    def numel(self) -> int:
        """Number of cells of the dense tensor."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the stored form (indices and values)."""
        return (self.indices.element_size() + self.values.element_size()) * len(self.values)

    def __len__(self) -> int:
        """Size of the first dimension, as for a tensor (the batch size of a batch)."""
        return self.shape[0]

    def __repr__(self) -> str:
        return (f'SparseInputs(shape={self.shape}, stored={len(self.values)}, '
                f'dtype={self.values.dtype})')
