"""Optimizer wrappers that skip steps with a non-finite loss (or gradient) instead of applying them.

A NaN/Inf loss is caught *before* ``backward()``: nothing is computed, so the weights, the
optimizer state and the AMP grad scaler are untouched (calling ``backward`` first and
skipping later would leave the scaler half-updated, the ``unscale_()`` double-call error of
the original project). Without a grad scaler, a finite loss can still give non-finite
gradients (e.g. ``acos`` at exactly ±1); those steps are skipped before clipping and the
optimizer step. With AMP the scaler already skips such steps (and lowers its scale).
"""
import logging

import torch
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from sparkpose.registry import OPTIM_WRAPPERS

from ..skip_counter import increment_counter

# Message-hub scalar: running total of skipped steps (see skip_counter).
SKIPPED_SCALAR = 'train/nonfinite_skips'


class NonFiniteLossError(FloatingPointError):
    """Training produced non-finite values for too many consecutive steps."""


class SkipNonFiniteMixin:
    """Adds the non-finite guard to an :class:`~mmengine.optim.OptimWrapper` subclass.

    Args:
        max_consecutive_nonfinite: Stop training (``NonFiniteLossError``) after this many
            consecutive skipped steps.
        check_grads: Also skip steps whose gradients are not finite (only without a grad
            scaler; costs one norm over the gradients per step).
        **kwargs: Passed to the wrapped optimizer wrapper (``optimizer``, ``clip_grad``...).
    """

    def __init__(self, *args, max_consecutive_nonfinite: int = 10, check_grads: bool = True,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if max_consecutive_nonfinite < 1:
            raise ValueError(f'{type(self).__name__}: max_consecutive_nonfinite must be >= 1, '
                             f'got {max_consecutive_nonfinite}')
        self.max_consecutive_nonfinite = max_consecutive_nonfinite
        self.check_grads = check_grads
        self.consecutive_nonfinite = 0

    def update_params(self, loss: torch.Tensor, step_kwargs: dict | None = None,
                      zero_kwargs: dict | None = None) -> None:
        """Back-propagate and step, unless the loss (or the gradient) is not finite."""
        consecutive = self.consecutive_nonfinite
        if bool(torch.isfinite(loss.detach()).all()):
            super().update_params(loss, step_kwargs, zero_kwargs)
        else:
            self._skip(f'the loss is {loss.detach().float().sum().item()}')
        if self.consecutive_nonfinite == consecutive:  # not skipped
            self.consecutive_nonfinite = 0

    def step(self, **kwargs) -> None:
        """Step, unless (without a grad scaler) a gradient is not finite: then drop them."""
        if (self.check_grads and getattr(self, 'loss_scaler', None) is None
                and not self._gradients_finite()):
            self.zero_grad()
            self._skip('a gradient is not finite')
            return
        super().step(**kwargs)

    def discard_pending_step(self) -> None:
        """Forget a step that failed half-way (e.g. out of memory): gradients, scaler state."""
        self.zero_grad()
        scaler = getattr(self, 'loss_scaler', None)
        if scaler is not None:
            # What GradScaler.update() does at the end of a step (private state); without it
            # the next step fails with "unscale_() has already been called on this optimizer".
            scaler._per_optimizer_states.clear()

    def _gradients_finite(self) -> bool:
        grads = [param.grad for group in self.optimizer.param_groups
                 for param in group['params'] if param.grad is not None]
        return not grads or bool(torch.isfinite(torch.nn.utils.get_total_norm(grads)))

    def _skip(self, reason: str) -> None:
        self.consecutive_nonfinite += 1
        total = increment_counter(self.message_hub, SKIPPED_SCALAR)
        print_log(f'Skipped an optimizer step: {reason} (weights and optimizer state unchanged; '
                  f'{total} skipped so far, {self.consecutive_nonfinite} in a row, limit '
                  f'{self.max_consecutive_nonfinite}).', logger='current', level=logging.WARNING)
        if self.consecutive_nonfinite >= self.max_consecutive_nonfinite:
            raise NonFiniteLossError(
                f'{self.consecutive_nonfinite} consecutive training steps were skipped because '
                f'{reason}; stopping. Check the learning rate and the data, compute losses in '
                'float32 (acos/sqrt at their domain edges), or raise '
                'optim_wrapper.max_consecutive_nonfinite.')


@OPTIM_WRAPPERS.register_module()
class SkipNonFiniteOptimWrapper(SkipNonFiniteMixin, OptimWrapper):
    """fp32 :class:`~mmengine.optim.OptimWrapper` with the non-finite guard."""


@OPTIM_WRAPPERS.register_module()
class SkipNonFiniteAmpOptimWrapper(SkipNonFiniteMixin, AmpOptimWrapper):
    """Mixed-precision :class:`~mmengine.optim.AmpOptimWrapper` with the non-finite guard."""
