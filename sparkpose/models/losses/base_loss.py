"""Shared weighting and reduction of the pose losses."""
import torch
from torch import nn

_REDUCTIONS = ('mean', 'sum', 'none')


class BasePoseLoss(nn.Module):
    """Holds ``loss_weight`` and ``reduction`` and applies them to per-sample losses.

    Args:
        loss_weight: Factor applied to the loss (e.g. 3.0 for rotation in the SOTA config).
        reduction: ``'mean'`` or ``'sum'`` over the batch, or ``'none'`` for ``(B,)``.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'{type(self).__name__}: reduction must be one of {_REDUCTIONS}, '
                             f'got {reduction!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction

    def weight_and_reduce(self, per_sample: torch.Tensor,
                          reduction_override: str | None = None) -> torch.Tensor:
        """Multiply ``(B,)`` losses by ``loss_weight`` and reduce them.

        Args:
            per_sample: ``(B,)`` losses.
            reduction_override: Replaces ``self.reduction`` for this call (a head that
                re-weights samples asks for ``'none'``).

        Returns:
            A scalar, or ``(B,)`` with ``'none'``.
        """
        reduction = reduction_override or self.reduction
        if reduction not in _REDUCTIONS:
            raise ValueError(f'{type(self).__name__}: reduction_override must be one of '
                             f'{_REDUCTIONS}, got {reduction!r}')
        loss = self.loss_weight * per_sample
        if reduction == 'mean':
            return loss.mean()
        if reduction == 'sum':
            return loss.sum()
        return loss
