"""Save the random number generators' states in checkpoints, restore them on resume."""
import logging
import random

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from sparkpose.datasets.samplers import SeededSampler
from sparkpose.registry import HOOKS

from ..worker_seeding import seed_worker

CHECKPOINT_KEY = 'random_state'


def get_random_state() -> dict:
    """States of python's, numpy's and torch's (CPU and CUDA) global generators, as plain
    values and tensors (loadable with ``weights_only=True``)."""
    _, key, pos, has_gauss, gauss = np.random.get_state()
    state = dict(python=random.getstate(),
                 numpy=dict(key=torch.from_numpy(key.astype(np.int64)), pos=int(pos),
                            has_gauss=int(has_gauss), gauss=float(gauss)),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: dict) -> None:
    """Restore the generators from :func:`get_random_state`'s output (any map_location)."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    numpy_state = state['numpy']
    np.random.set_state(('MT19937', numpy_state['key'].cpu().numpy().astype(np.uint32),
                         numpy_state['pos'], numpy_state['has_gauss'], numpy_state['gauss']))
    set_torch_random_state(state)


def set_torch_random_state(state: dict) -> None:
    """Restore only torch's CPU and CUDA generators from :func:`get_random_state`'s output."""
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        if len(state['cuda']) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])
        else:
            print_log(f'Not restoring CUDA random states: saved for {len(state["cuda"])} '
                      f'devices, {torch.cuda.device_count()} present.', logger='current',
                      level=logging.WARNING)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make resumed epoch-based training draw the same random numbers as uninterrupted training.

    At the start of training and at the end of each training epoch the generator states
    are recorded; every checkpoint saved from then on carries them (key ``random_state``,
    tagged with the epoch they start). At the start of that epoch the states are restored,
    both in the uninterrupted run (undoing what validation drew in between) and in a run
    resumed from the checkpoint, so the two see identical shuffling, dropout and on-device
    noise (the data preprocessor's ``noise_prob`` draws from torch's generator here).
    Torch's generators are restored once more before the epoch's first iteration: starting
    a DataLoader iterator with workers draws a worker base seed from them, which a
    persistent loader does only in its first epoch, so without it dropout and noise would
    depend on the loader settings and on whether the run was resumed. States loaded with
    ``load_from`` (fine-tuning) are tagged with another epoch and ignored.

    Data-loader workers are not covered: their augmentations are bit-identical after a
    resume when drawn per sample (``SeededSampler``, see docs/reproducibility.md); with
    another sampler only ``num_workers=0`` or non-persistent workers with
    ``sparkpose.seed_worker`` are, and a warning says so at the start of training.
    Under DDP the states of rank 0 are saved; with ``randomness.diff_rank_seed=True`` they are
    not restored (the ranks must keep different streams).
    """

    priority = 'LOW'  # after the other after_train_epoch hooks, before CheckpointHook

    def __init__(self) -> None:
        self._state: dict | None = None

    def before_train(self, runner) -> None:
        """Record the first epoch's states; warn when the training loader's augmentations
        will not resume bit-identically."""
        if self._state is None or self._state['epoch'] != runner.epoch:
            self._state = dict(epoch=runner.epoch, **get_random_state())
        loader = runner.train_dataloader
        if isinstance(loader.sampler, SeededSampler) or not loader.num_workers:
            return
        if loader.persistent_workers or loader.worker_init_fn is None or \
                getattr(loader.worker_init_fn, 'func', None) is not seed_worker:
            print_log(f'train_dataloader: sampler {type(loader.sampler).__name__} with '
                      f'{loader.num_workers} worker(s): augmentations draw from per-worker '
                      f"generators, so a resumed run is not bit-identical; use sampler=dict("
                      f"type='SeededSampler') (docs/reproducibility.md)", logger='current',
                      level=logging.WARNING)

    def after_train_epoch(self, runner) -> None:
        """Record the states the next epoch must start from."""
        self._state = dict(epoch=runner.epoch + 1, **get_random_state())

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the recorded states in the checkpoint."""
        if self._state is not None:
            checkpoint[CHECKPOINT_KEY] = self._state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the checkpoint's states for the epoch they belong to."""
        if CHECKPOINT_KEY in checkpoint:
            self._state = checkpoint[CHECKPOINT_KEY]

    def before_train_epoch(self, runner) -> None:
        """Restore the states recorded for this epoch, if any."""
        if self._restorable(runner):
            set_random_state(self._state)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Restore torch's states again once the epoch's loader iterator has started."""
        if batch_idx == 0 and self._restorable(runner):
            set_torch_random_state(self._state)

    def _restorable(self, runner) -> bool:
        """Whether states were recorded for this epoch and this rank may restore them."""
        if self._state is None or self._state['epoch'] != runner.epoch:
            return False
        diff_rank_seed = runner.cfg.get('randomness', {}).get('diff_rank_seed', False)
        return not (get_world_size() > 1 and diff_rank_seed)
