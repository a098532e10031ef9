"""Batching in DataLoader workers that keeps the hand-off to the main process cheap."""
import ctypes
import functools
import math
import sys
from collections.abc import Callable, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import BaseDataElement
from torch.utils.data import get_worker_info

from sparkpose.registry import FUNCTIONS
from sparkpose.structures import SparseInputs, WindowEvents
from sparkpose.structures.packed_inputs import PACKED_INPUTS, packed_form

# madvise(2) advice that maps a mapping's pages in at once (Linux >= 5.14).
MADV_POPULATE_WRITE = 23
# Byte alignment of the tensors carved from a batch's shared segment (a cache line).
ALIGN = 64


@functools.cache
def _madvise() -> Callable[[int, int, int], int] | None:
    """libc's ``madvise`` on Linux, else None (looked up once per process)."""
    if not sys.platform.startswith('linux'):
        return None
    madvise = ctypes.CDLL(None, use_errno=True).madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return madvise


def _new_shared(nbytes: int) -> torch.UntypedStorage:
    """Fresh shared memory, its pages mapped in one call instead of one page fault per
    4 KiB while the batch is written (less time to fill it; docs/performance.md). Best
    effort: kernels without the advice refuse it and the pages fault in as usual. Either
    way the storage is torch's fresh shared memory, zero-filled: the advice changes when
    its pages are mapped in, not what they hold."""
    storage = torch.UntypedStorage._new_shared(nbytes)
    madvise = _madvise()
    if madvise is not None and nbytes:
        madvise(storage.data_ptr(), nbytes, MADV_POPULATE_WRITE)
    return storage


class _SharedArena:
    """One shared-memory segment that a DataLoader worker carves a batch's tensors from.

    Torch would copy a worker's tensors into shared memory to send them, and it sends each
    storage to the main process as its own segment, at a fixed cost of the worker's time
    per storage (docs/performance.md). Views of one storage go as one. Allocated as the
    sum of the tensors' bytes that the batch will hold (``nbytes``, with room to align
    ``tensors`` of them); a request beyond it gets a segment of its own.

    Its plain reference is ``torch.empty``, the main process's allocator in
    :func:`_batch_allocator`: a batch carved from an arena equals one built with it
    (tested), only its storage differs.
    """

    def __init__(self, nbytes: int, tensors: int) -> None:
        self.storage = _new_shared(nbytes + ALIGN * tensors)
        self.used = 0

    def empty(self, size: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        """An uninitialised tensor in the segment (``torch.empty``'s arguments)."""
        nbytes = math.prod(size) * dtype.itemsize
        start = -(-self.used // ALIGN) * ALIGN
        if start + nbytes > self.storage.nbytes():
            storage, start = _new_shared(nbytes), 0
        else:
            storage, self.used = self.storage, start + nbytes
        return torch.empty(0, dtype=dtype).set_(storage, start // dtype.itemsize, tuple(size))


def _tensors(value) -> list[torch.Tensor]:
    """The tensors a batch part will hold (the packed forms' parts, a list's tensors)."""
    if isinstance(value, PACKED_INPUTS):
        return [getattr(value, name) for name in vars(value)
                if isinstance(getattr(value, name), torch.Tensor)]
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, BaseDataElement):
        return [v for v in value.values() if isinstance(v, torch.Tensor)]
    return []


def _batch_allocator(batch: dict) -> Callable[..., torch.Tensor]:
    """``empty(size, dtype)`` for the batch's tensors: plain memory in the main process, one
    shared segment (:class:`_SharedArena`) in a DataLoader worker."""
    if get_worker_info() is None:
        return torch.empty
    parts = [t for key in ('inputs', 'data_samples') for item in batch.get(key, [])
             for t in _tensors(item)]
    arena = _SharedArena(sum(t.numel() * t.element_size() for t in parts),
                         tensors=len(parts))
    return arena.empty


def _collate_inputs(inputs: list, empty: Callable[..., torch.Tensor]
                    ) -> torch.Tensor | SparseInputs | WindowEvents | list:
    """One ``(B, C, H, W)`` tensor, SparseInputs or WindowEvents; a list if samples differ."""
    form = packed_form(inputs, 'pose_collate')
    if form is not None:
        return form.stack(inputs, empty=empty)
    if all(isinstance(x, torch.Tensor) for x in inputs) and len(
            {(x.shape, x.dtype) for x in inputs}) == 1:
        batch = empty((len(inputs), *inputs[0].shape), dtype=inputs[0].dtype)
        # numpy copies in one thread; see SparseInputs.stack for why not torch's.
        np.stack([x.numpy() for x in inputs], out=batch.numpy())
        return batch
    return inputs  # as pseudo_collate; PoseDataPreprocessor names the mismatch


def _share_data_fields(samples: list, empty: Callable[..., torch.Tensor]) -> None:
    """Make each tensor field common to all samples (same shape, dtype) rows of one tensor."""
    if not all(isinstance(s, BaseDataElement) for s in samples):
        return
    for key in samples[0].keys():
        fields = [s.get(key) for s in samples]
        if all(isinstance(f, torch.Tensor) for f in fields) and len(
                {(f.shape, f.dtype) for f in fields}) == 1:
            rows = torch.stack(fields, out=empty((len(fields), *fields[0].shape),
                                                 dtype=fields[0].dtype))
            for sample, row in zip(samples, rows):
                setattr(sample, key, row)


@FUNCTIONS.register_module()
def pose_collate(data_batch: Sequence[dict]) -> dict:
    """Batch packed samples into a few tensors, so that a worker sends a few segments.

    mmengine's ``pseudo_collate`` keeps every tensor of every sample apart, and a
    DataLoader worker sends each one to the main process as its own shared-memory segment,
    a fixed cost per tensor plus the page faults of fresh shared memory per byte (figures:
    docs/performance.md). This collate returns what ``pseudo_collate`` does, except:

    * ``inputs``: dense ``(C, H, W)`` tensors are stacked into one ``(B, C, H, W)``
      tensor, :class:`SparseInputs` into one of shape ``(B, C, H, W)``,
      :class:`WindowEvents` into one batch of events (inputs of different shapes stay a
      list);
    * ``data_samples``: a tensor field that every sample has with one shape and dtype
      (``gt_t``, ``gt_q``) becomes rows of one tensor, each sample keeping its row (a
      view).

    In a worker, all of these are built directly in one shared-memory segment, so that a
    batch travels as one.

    :class:`~sparkpose.models.data_preprocessors.PoseDataPreprocessor` takes both
    collates' batches. Config: ``collate_fn=dict(type='sparkpose.pose_collate')`` (the
    Runner looks collate functions up in mmengine's root registry, so the scope prefix is
    needed).

    Args:
        data_batch: Samples from :class:`~sparkpose.datasets.transforms.PackPoseInputs`.

    Returns:
        ``dict(inputs=Tensor (B, C, H, W), SparseInputs or WindowEvents,
        data_samples=list, ...)``.
    """
    batch = pseudo_collate(list(data_batch))
    empty = _batch_allocator(batch)
    if 'inputs' in batch:
        batch['inputs'] = _collate_inputs(batch['inputs'], empty)
    if 'data_samples' in batch:
        _share_data_fields(batch['data_samples'], empty)
    return batch
