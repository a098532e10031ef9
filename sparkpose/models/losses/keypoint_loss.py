"""Losses of keypoint heatmaps: softmax cross-entropy to a target map, soft-argmax L1."""
import torch
import torch.nn.functional as F
from torch import nn

from sparkpose.registry import MODELS


def _weighted_mean(per_keypoint: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean of ``(B, K)`` values over the keypoints of weight > 0 (0 when there are none)."""
    return (per_keypoint * weights).sum() / weights.sum().clamp(min=1)


@MODELS.register_module()
class HeatmapCrossEntropyLoss(nn.Module):
    """Cross-entropy between the softmax over each map and a target distribution.

    Args:
        loss_weight: Factor applied to the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, heatmaps: torch.Tensor, target: torch.Tensor, weights: torch.Tensor
                ) -> torch.Tensor:
        """Mean over the weighted keypoints.

        Args:
            heatmaps: ``(B, K, h, w)`` logits.
            target: ``(B, K, h, w)`` maps that sum to 1 (e.g. ``GaussianHeatmap.encode``).
            weights: ``(B, K)`` per-keypoint weights (0: outside the input).
        """
        log_prob = F.log_softmax(heatmaps.flatten(2), dim=-1)
        cross_entropy = -(target.flatten(2) * log_prob).sum(-1)
        return self.loss_weight * _weighted_mean(cross_entropy, weights)


@MODELS.register_module()
class SoftArgmaxL1Loss(nn.Module):
    """L1 distance, in map cells, between each map's soft-argmax and the target position.

    Args:
        loss_weight: Factor applied to the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, heatmaps: torch.Tensor, target: torch.Tensor, weights: torch.Tensor
                ) -> torch.Tensor:
        """Mean over the weighted keypoints.

        Args:
            heatmaps: ``(B, K, h, w)`` logits.
            target: ``(B, K, 2)`` positions ``(x, y)`` in cells.
            weights: ``(B, K)`` per-keypoint weights.
        """
        h, w = heatmaps.shape[-2:]
        xs = torch.arange(w, device=heatmaps.device, dtype=torch.float32)
        ys = torch.arange(h, device=heatmaps.device, dtype=torch.float32)
        prob = F.log_softmax(heatmaps.flatten(2), dim=-1).exp().view_as(heatmaps)
        expected = torch.stack([(prob.sum(-2) * xs).sum(-1), (prob.sum(-1) * ys).sum(-1)], -1)
        return self.loss_weight * _weighted_mean((expected - target).abs().sum(-1), weights)
