"""Losses of keypoint heatmaps: softmax cross-entropy to a target map, soft-argmax L1."""
from abc import ABCMeta, abstractmethod

import torch
import torch.nn.functional as F
from torch import nn

from sparkpose.registry import MODELS


class BaseKeypointLoss(nn.Module, metaclass=ABCMeta):
    """A per-keypoint loss of heatmap logits, averaged over the keypoints of weight > 0
    (0 when there are none) and multiplied by ``loss_weight``.

    Args:
        loss_weight: Factor applied to the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    @abstractmethod
    def per_keypoint(self, heatmaps: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``(B, K)`` losses of ``(B, K, h, w)`` logits against the target."""

    def forward(self, heatmaps: torch.Tensor, target: torch.Tensor, weights: torch.Tensor
                ) -> torch.Tensor:
        """Weighted mean of :meth:`per_keypoint`.

        Args:
            heatmaps: ``(B, K, h, w)`` logits.
            target: What :meth:`per_keypoint` compares with (see the subclass).
            weights: ``(B, K)`` per-keypoint weights (0: outside the input).
        """
        loss = self.per_keypoint(heatmaps, target)
        return self.loss_weight * (loss * weights).sum() / weights.sum().clamp(min=1)


@MODELS.register_module()
class HeatmapCrossEntropyLoss(BaseKeypointLoss):
    """Cross-entropy between the softmax over each map and a target distribution
    (``(B, K, h, w)`` maps that sum to 1, e.g. ``GaussianHeatmap.encode``'s ``heatmaps``)."""

    def per_keypoint(self, heatmaps: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_prob = F.log_softmax(heatmaps.flatten(2), dim=-1)
        return -(target.flatten(2) * log_prob).sum(-1)


@MODELS.register_module()
class SoftArgmaxL1Loss(BaseKeypointLoss):
    """L1 distance, in map cells, between each map's soft-argmax and the target position
    (``(B, K, 2)`` ``(x, y)`` cells, e.g. ``GaussianHeatmap.encode``'s ``keypoint_cells``)."""

    def per_keypoint(self, heatmaps: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        h, w = heatmaps.shape[-2:]
        xs = torch.arange(w, device=heatmaps.device, dtype=torch.float32)
        ys = torch.arange(h, device=heatmaps.device, dtype=torch.float32)
        prob = F.log_softmax(heatmaps.flatten(2), dim=-1).exp().view_as(heatmaps)
        expected = torch.stack([(prob.sum(-2) * xs).sum(-1), (prob.sum(-1) * ys).sum(-1)], -1)
        return (expected - target).abs().sum(-1)
