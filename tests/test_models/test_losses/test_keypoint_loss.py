"""Keypoint losses built from config: hand values, weighting, masked keypoints."""
import math

import torch

from sparkpose.registry import MODELS


def test_cross_entropy_of_uniform_logits_is_log_of_the_cells():
    loss = MODELS.build(dict(type='HeatmapCrossEntropyLoss', loss_weight=2.0))
    target = torch.zeros(1, 2, 3, 4)
    target[..., 1, 2] = 1.0
    value = loss(torch.zeros(1, 2, 3, 4), target, torch.ones(1, 2))
    torch.testing.assert_close(value, torch.tensor(2.0 * math.log(12)))


def test_soft_argmax_l1_in_cells_and_masked_keypoints_do_not_count():
    loss = MODELS.build(dict(type='SoftArgmaxL1Loss', loss_weight=0.5))
    heatmaps = torch.full((1, 2, 5, 5), -1e4)
    heatmaps[0, 0, 1, 3] = 0.0  # keypoint 0 sure of cell (x=3, y=1)
    heatmaps[0, 1, 4, 4] = 0.0
    target = torch.tensor([[[2.0, 1.0], [0.0, 0.0]]])  # 1 cell off in x; keypoint 1 far off
    value = loss(heatmaps, target, torch.tensor([[1.0, 0.0]]))
    torch.testing.assert_close(value, torch.tensor(0.5))
    nothing = loss(heatmaps, target, torch.zeros(1, 2))
    assert nothing == 0
