"""Smooth-L1 loss on (normalised) translations."""
import torch
import torch.nn.functional as F

from sparkpose.registry import MODELS

from .base_loss import BasePoseLoss


@MODELS.register_module()
class SmoothL1TranslationLoss(BasePoseLoss):
    """Smooth-L1 (Huber) loss between translations, averaged over the three axes.

    With the default ``'mean'`` reduction it equals ``F.smooth_l1_loss(pred, target)``.

    Args:
        beta: Where the loss turns from quadratic to linear, in target units (normalised
            units when the head encodes translations with a codec, else metres).
        loss_weight: Factor applied to the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` over the batch.
    """

    def __init__(self, beta: float = 1.0, loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__(loss_weight, reduction)
        self.beta = beta

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                reduction_override: str | None = None) -> torch.Tensor:
        """Loss of ``(B, 3)`` predictions against ``(B, 3)`` targets (scalar or ``(B,)``)."""
        per_sample = F.smooth_l1_loss(pred, target, beta=self.beta, reduction='none').mean(-1)
        return self.weight_and_reduce(per_sample, reduction_override)
