"""A tiny depthwise-separable CNN backbone (MobileNet-style blocks)."""
from collections.abc import Sequence

import torch
from torch import nn

from sparkpose.models.backbones import BaseBackbone
from sparkpose.registry import MODELS


def _separable_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """``3×3`` stride-2 depthwise conv, then ``1×1`` pointwise conv, each with BN + ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, stride=2, padding=1, groups=in_channels,
                  bias=False),
        nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


@MODELS.register_module()
class DepthwiseCNN(BaseBackbone):
    """A ``3×3`` stride-2 stem conv, then one stride-2 depthwise-separable block per width.

    Subclassing :class:`~sparkpose.models.backbones.BaseBackbone` gives ``freeze()`` /
    ``unfreeze()`` (for ``StagedUnfreezeHook``); the backbone only declares
    ``out_channels`` and returns a tuple of feature maps.

    Args:
        in_channels: Channels of the input voxel grid (10 = 5 time bins × 2 polarities).
        stem_channels: Width of the stem conv.
        channels: Output width of each block; the last is the feature width.
        init_cfg: mmengine initialisation config.

    Returns (forward):
        A 1-tuple with the ``(B, channels[-1], H / 2**(n+1), W / 2**(n+1))`` feature map
        for ``n = len(channels)``.
    """

    def __init__(self, in_channels: int = 10, stem_channels: int = 16,
                 channels: Sequence[int] = (32, 64, 128),
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        if not channels:
            raise ValueError('DepthwiseCNN: channels must name at least one block width')
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels), nn.ReLU(inplace=True))
        widths = [stem_channels, *channels]
        self.blocks = nn.Sequential(*(_separable_block(cin, cout)
                                      for cin, cout in zip(widths[:-1], widths[1:])))
        self._out_channels = (channels[-1],)

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Width of the single output map."""
        return self._out_channels

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        """``(B, in_channels, H, W)`` → ``((B, channels[-1], H', W'),)``."""
        return (self.blocks(self.stem(x)),)
