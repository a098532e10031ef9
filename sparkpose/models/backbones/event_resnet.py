"""ResNet-style backbone for event voxel grids, trained from scratch."""
from collections.abc import Sequence

import torch
from torch import nn

from sparkpose.registry import MODELS

from .base_backbone import BaseBackbone


def _conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2,
                      bias=False), nn.BatchNorm2d(out_channels)]


class BasicBlock(nn.Module):
    """Two ``3×3`` convs with an identity (or ``1×1`` projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(*_conv_bn(in_channels, out_channels, 3, stride),
                                      nn.ReLU(inplace=True),
                                      *_conv_bn(out_channels, out_channels, 3, 1))
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut = (nn.Sequential(*_conv_bn(in_channels, out_channels, 1, stride))
                         if needs_projection else nn.Identity())
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.residual(x) + self.shortcut(x))


@MODELS.register_module()
class EventResNet(BaseBackbone):
    """ResNet-like CNN (basic blocks) for ``(B, C, H, W)`` voxel grids.

    Stem: ``7×7`` stride-2 conv, BN, ReLU, ``3×3`` stride-2 max-pool; then one stage per
    entry of ``stage_channels``. Defaults give a ResNet-18 layout with 512-d features
    (the ``rtx4090`` width, ``feature_dim=512``).

    Args:
        in_channels: Channels of the voxel grid.
        stem_channels: Width of the stem conv.
        stage_channels: Width of each stage; the feature width is ``stage_channels[-1]``.
        stage_blocks: Number of basic blocks per stage.
        strides: Stride of the first block of each stage.
        out_indices: Stages whose outputs are returned (0-based, deepest last).
        init_cfg: mmengine initialisation config.

    Returns (forward):
        A tuple of ``(B, stage_channels[i], H_i, W_i)`` maps, one per ``out_indices``.
    """

    def __init__(self, in_channels: int = 10, stem_channels: int = 64,
                 stage_channels: Sequence[int] = (64, 128, 256, 512),
                 stage_blocks: Sequence[int] = (2, 2, 2, 2),
                 strides: Sequence[int] = (1, 2, 2, 2), out_indices: Sequence[int] = (3,),
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        num_stages = len(stage_channels)
        if not len(stage_blocks) == len(strides) == num_stages:
            raise ValueError(f'EventResNet: stage_channels, stage_blocks and strides need the '
                             f'same length, got {list(stage_channels)}, {list(stage_blocks)}, '
                             f'{list(strides)}')
        if not out_indices or any(not 0 <= i < num_stages for i in out_indices):
            raise ValueError(f'EventResNet: out_indices must lie in [0, {num_stages}), '
                             f'got {list(out_indices)}')
        self.stem = nn.Sequential(*_conv_bn(in_channels, stem_channels, 7, 2),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
        stages, width = [], stem_channels
        for out_width, blocks, stride in zip(stage_channels, stage_blocks, strides):
            stage = [BasicBlock(width, out_width, stride)]
            stage += [BasicBlock(out_width, out_width, 1) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*stage))
            width = out_width
        self.stages = nn.ModuleList(stages)
        self.out_indices = tuple(sorted(out_indices))
        self._out_channels = tuple(stage_channels[i] for i in self.out_indices)

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Widths of the returned stage outputs."""
        return self._out_channels

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(B, in_channels, H, W)`` → tuple of stage outputs listed in ``out_indices``."""
        x = self.stem(x)
        outs = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)
