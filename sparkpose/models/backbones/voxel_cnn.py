"""A small, fast convolutional backbone (the CPU demo network)."""
from collections.abc import Sequence

import torch
from torch import nn

from sparkpose.registry import MODELS

from .base_backbone import BaseBackbone


@MODELS.register_module()
class VoxelCNN(BaseBackbone):
    """A plain stack of stride-2 ``3×3 conv → BN → ReLU`` layers.

    Four layers halve the resolution four times (128² input → 8² output). Fast enough to
    train on a laptop CPU; the accuracy backbone is ``EventResNet`` or ``TimmBackbone``.

    Args:
        in_channels: Channels of the voxel grid (e.g. 10 = 5 time bins × 2 polarities).
        channels: Output width of each conv layer; the last one is the feature width.
        init_cfg: mmengine initialisation config.

    Returns (forward):
        A 1-tuple with the ``(B, channels[-1], H / 2**n, W / 2**n)`` feature map.
    """

    def __init__(self, in_channels: int = 10, channels: Sequence[int] = (16, 32, 64, 128),
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        if not channels:
            raise ValueError('VoxelCNN: channels must name at least one layer width')
        layers = []
        for width in channels:
            layers += [nn.Conv2d(in_channels, width, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            in_channels = width
        self.layers = nn.Sequential(*layers)
        self._out_channels = (channels[-1],)

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Width of the single output map."""
        return self._out_channels

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        """``(B, in_channels, H, W)`` → ``((B, channels[-1], H', W'),)``."""
        return (self.layers(x),)
