"""Aleatoric uncertainty weighting of a per-sample loss (Kendall & Cipolla)."""
import torch

from sparkpose.registry import MODELS

from .base_loss import BasePoseLoss


@MODELS.register_module()
class UncertaintyWeightedLoss(BasePoseLoss):
    """``exp(-s)·L + s`` per sample, with ``s`` a predicted log-variance.

    Kendall & Cipolla (CVPR 2017/2018): a sample the network declares uncertain (large
    ``s``) costs less through its error term but pays the ``s`` penalty, so ``s`` learns the
    error scale. The result can be negative; only its gradient matters.

    Args:
        loss_weight: Factor applied to the weighted loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` over the batch.
    """

    def forward(self, loss: torch.Tensor, log_var: torch.Tensor,
                reduction_override: str | None = None) -> torch.Tensor:
        """Weight ``(B,)`` per-sample losses by ``(B,)`` log-variances ``s``."""
        log_var = log_var.to(loss.dtype)
        return self.weight_and_reduce(torch.exp(-log_var) * loss + log_var, reduction_override)
