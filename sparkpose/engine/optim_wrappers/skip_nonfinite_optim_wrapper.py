"""Optimizer wrappers that skip steps with a non-finite loss (or gradient) instead of applying them.

A NaN/Inf loss is caught before the step: its gradients are dropped before the AMP grad
scaler unscales them, so the weights, the optimizer state and the scaler are untouched
(skipping after ``unscale_()`` would leave the scaler half-updated, the ``unscale_()``
double-call error of the original project). The check stays on the device until the step,
where one host sync decides (a sync before ``backward()`` would stall the GPU while the
CPU queues the backward pass); under DDP every rank thus runs ``backward()`` and none waits
in the gradient all-reduce. Without a grad scaler, a finite loss can still give
non-finite gradients (e.g. ``acos`` at exactly ±1); those steps are skipped in the same
decision, before clipping and the optimizer step. With AMP the scaler skips such steps
itself (and lowers its scale); :class:`SkipNonFiniteAmpOptimWrapper` counts them.
"""
import logging

import torch
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from sparkpose.registry import OPTIM_WRAPPERS

from ..skip_counter import increment_counter

# Message-hub scalars: running totals of skipped steps (see skip_counter), the loss scale
# after the grad scaler's last skip.
SKIPPED_SCALAR = 'train/nonfinite_skips'
AMP_SKIPPED_SCALAR = 'train/amp_skipped_steps'
LOSS_SCALE_SCALAR = 'train/loss_scale'


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
        # Losses back-propagated since the last step (detached, on the device): checked at
        # the step.
        self._pending_losses: list[torch.Tensor] = []

    def update_params(self, loss: torch.Tensor, step_kwargs: dict | None = None,
                      zero_kwargs: dict | None = None) -> None:
        """Back-propagate and step, unless the loss (or the gradient) is not finite."""
        consecutive = self.consecutive_nonfinite
        self._pending_losses.append(loss.detach())
        super().update_params(loss, step_kwargs, zero_kwargs)
        if self.consecutive_nonfinite == consecutive:  # not skipped
            self.consecutive_nonfinite = 0

    def step(self, **kwargs) -> None:
        """Step, unless a pending loss (or, without a grad scaler, a gradient) is not finite:
        then drop the gradients."""
        losses, self._pending_losses = self._pending_losses, []
        checks = [torch.isfinite(loss).all() for loss in losses]
        if self.check_grads and getattr(self, 'loss_scaler', None) is None:
            checks += self._gradients_finite()
        if checks and not bool(torch.stack(checks).all()):  # the step's one host sync
            bad = [loss for loss, finite in zip(losses, checks) if not bool(finite)]
            self.discard_pending_step()
            self._skip(f'the loss is {bad[0].float().sum().item()}' if bad
                       else 'a gradient is not finite')
            return
        super().step(**kwargs)

    def discard_pending_step(self) -> None:
        """Forget a step that failed half-way (e.g. out of memory): its losses, gradients and
        scaler state."""
        self._pending_losses = []
        self.zero_grad()
        scaler = getattr(self, 'loss_scaler', None)
        if scaler is not None:
            # What GradScaler.update() does at the end of a step (private state); without it
            # the next step fails with "unscale_() has already been called on this optimizer".
            scaler._per_optimizer_states.clear()

    def _gradients_finite(self) -> list[torch.Tensor]:
        """Whether every gradient is finite, as a device bool (no host sync); ``[]`` if
        there are none."""
        grads = [param.grad for group in self.optimizer.param_groups
                 for param in group['params'] if param.grad is not None]
        return [torch.isfinite(torch.nn.utils.get_total_norm(grads))] if grads else []

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
    """Mixed-precision :class:`~mmengine.optim.AmpOptimWrapper` with the non-finite guard.

    Steps that the fp16 grad scaler skips (an inf/NaN gradient at the current loss scale)
    are counted in the log as ``amp_skipped_steps``, with the lowered ``loss_scale``; a few
    in a row early in training are the scaler finding its scale, many mean fp16 overflows.
    Detected with an optimizer step hook, so counting costs no host sync.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._optimizer_stepped = False
        self.optimizer.register_step_post_hook(self._note_optimizer_step)

    def _note_optimizer_step(self, optimizer, args, kwargs) -> None:
        self._optimizer_stepped = True

    def step(self, **kwargs) -> None:
        """Step as the guard decides; count a step the grad scaler skipped."""
        self._optimizer_stepped = False
        consecutive = self.consecutive_nonfinite
        super().step(**kwargs)
        if self.consecutive_nonfinite == consecutive and not self._optimizer_stepped:
            increment_counter(self.message_hub, AMP_SKIPPED_SCALAR)
            self.message_hub.update_scalar(LOSS_SCALE_SCALAR, self.loss_scaler.get_scale())
