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
        out_indices: Layers whose maps are returned (layer ``i`` has stride ``2**(i+1)``);
            the default, the last one, feeds pooling necks; dense heads (keypoint
            heatmaps) take several, e.g. ``(1, 2, 3)`` for strides 4, 8 and 16.
        init_cfg: mmengine initialisation config.

    Returns (forward):
        A tuple with one ``(B, channels[i], H / 2**(i+1), W / 2**(i+1))`` map per index
        of ``out_indices``.
    """

    def __init__(self, in_channels: int = 10, channels: Sequence[int] = (16, 32, 64, 128),
                 out_indices: Sequence[int] = (-1,), init_cfg: dict | list | None = None
                 ) -> None:
        super().__init__(init_cfg)
        if not channels:
            raise ValueError('VoxelCNN: channels must name at least one layer width')
        indices = [i % len(channels) if -len(channels) <= i < len(channels) else None
                   for i in out_indices]
        if not indices or None in indices:
            raise ValueError(f'VoxelCNN: out_indices {tuple(out_indices)} must index the '
                             f'{len(channels)} layers of channels={tuple(channels)}')
        self.out_indices = tuple(indices)
        self.layers = nn.ModuleList()
        for width in channels:
            self.layers.append(nn.Sequential(
                nn.Conv2d(in_channels, width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width), nn.ReLU(inplace=True)))
            in_channels = width
        self._out_channels = tuple(channels[i] for i in self.out_indices)

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Width of each returned map."""
        return self._out_channels

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(B, in_channels, H, W)`` → the maps of ``out_indices``."""
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return tuple(outs[i] for i in self.out_indices)
