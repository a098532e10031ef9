"""Epoch-based training loop that skips a batch which runs out of memory instead of dying."""
import builtins
from collections.abc import Sequence

import torch
from mmengine.runner import EpochBasedTrainLoop
from mmengine.utils import import_modules_from_strings

from sparkpose.registry import LOOPS

from ..skip_counter import increment_counter

SKIPPED_SCALAR = 'train/skipped_batches'  # running total, see skip_counter


def resolve_exception(name: str) -> type[BaseException]:
    """``'OutOfMemoryError'``/``'torch.OutOfMemoryError'``, a builtin (``'RuntimeError'``) or
    a dotted path (``'package.module.Error'``) -> the exception class."""
    if name in ('OutOfMemoryError', 'torch.OutOfMemoryError', 'torch.cuda.OutOfMemoryError'):
        return torch.cuda.OutOfMemoryError
    module_name, _, class_name = name.rpartition('.')
    owner = import_modules_from_strings(module_name) if module_name else builtins
    error = getattr(owner, class_name, None)
    if not (isinstance(error, type) and issubclass(error, Exception)):
        raise ValueError(f'skip_exceptions: {name!r} is not an exception class')
    return error


@LOOPS.register_module()
class SkipErrorEpochBasedTrainLoop(EpochBasedTrainLoop):
    """:class:`~mmengine.runner.EpochBasedTrainLoop` that skips a batch raising a listed error.

    The failed batch is dropped with a warning: gradients (and a half-done AMP step) are
    discarded and, on a GPU, the cached memory is released. It does not count as an
    iteration (no ``after_train_iter`` hooks, ``iter`` unchanged). Other exceptions propagate.
    The running total is the message-hub scalar ``train/skipped_batches`` (in the log).

    Under DDP, a batch skipped by one rank but not by the others desynchronises the gradient
    all-reduce (the others wait until the timeout): rely on it in single-process training.

    Args:
        skip_exceptions: Names of exception classes to skip (resolved by
            :func:`resolve_exception`); default only CUDA out-of-memory.
        max_consecutive_skips: Re-raise once this many batches in a row have failed.
        **kwargs: Arguments of :class:`~mmengine.runner.EpochBasedTrainLoop`
            (``dataloader``, ``max_epochs``, ``val_interval``...).
    """

    def __init__(self, runner, dataloader, max_epochs: int,
                 skip_exceptions: Sequence[str] = ('OutOfMemoryError',),
                 max_consecutive_skips: int = 10, **kwargs) -> None:
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        self.skip_exceptions = tuple(resolve_exception(name) for name in skip_exceptions)
        self.max_consecutive_skips = max_consecutive_skips
        self.consecutive_skips = 0

    def run_iter(self, idx: int, data_batch: Sequence[dict]) -> None:
        """Run one batch; skip it if it raises one of ``skip_exceptions``."""
        try:
            super().run_iter(idx, data_batch)
        except self.skip_exceptions as error:
            self.consecutive_skips += 1
            if self.consecutive_skips >= self.max_consecutive_skips:
                raise RuntimeError(
                    f'{self.consecutive_skips} consecutive batches failed, the last (epoch '
                    f'{self.epoch + 1}, batch {idx}) with {type(error).__name__}: {error}'
                ) from error
            reason = f'{type(error).__name__}: {error}'
        else:
            self.consecutive_skips = 0
            return
        # Out of the except block, so the traceback's frames (and the activations they
        # hold) are released before the memory is returned.
        self._discard_batch(idx, reason)

    def _discard_batch(self, idx: int, reason: str) -> None:
        optim_wrapper = self.runner.optim_wrapper
        discard = getattr(optim_wrapper, 'discard_pending_step', optim_wrapper.zero_grad)
        discard()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        total = increment_counter(self.runner.message_hub, SKIPPED_SCALAR)
        self.runner.logger.warning(
            f'Skipped batch {idx} of epoch {self.epoch + 1} after {reason} '
            f'({total} skipped so far).')
