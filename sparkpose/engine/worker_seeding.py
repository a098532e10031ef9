"""Seed data-loader workers from the epoch's random state instead of a fixed seed."""
import random

import numpy as np
import torch
from mmengine.dist import get_rank

from sparkpose.registry import FUNCTIONS


@FUNCTIONS.register_module()
def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` seeding python's and numpy's generators from torch's worker seed.

    mmengine's default seeds every worker with ``seed + worker_id`` (+ rank): without
    persistent workers each epoch then replays exactly the same augmentation random stream.
    PyTorch gives each worker ``torch.initial_seed() = base_seed + worker_id``, with
    ``base_seed`` drawn from the main process's generator when the epoch's iterator starts:
    seeding from it gives every epoch new streams, and (with ``RandomStateHook`` restoring
    the main generator) the same streams again after a resume. Select it with
    ``train_dataloader.worker_init_fn=dict(type='sparkpose.seed_worker')``; bit-identical
    resumption also needs ``persistent_workers=False``. ``SeededSampler`` needs neither: it
    seeds every sample's transforms itself (docs/reproducibility.md).

    Args:
        worker_id: Index of the worker (unused: already part of ``torch.initial_seed()``).
    """
    sequence = np.random.SeedSequence([torch.initial_seed(), get_rank()])
    np.random.seed(sequence.generate_state(1)[0])
    random.seed(int(sequence.generate_state(2, np.uint64)[1]))
