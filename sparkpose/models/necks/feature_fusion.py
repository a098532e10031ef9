"""Feature fusion neck: several backbone strides → one fine map for dense heads."""
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from sparkpose.registry import MODELS


@MODELS.register_module()
class FeatureFusion(BaseModule):
    """A light FPN: project every map to ``out_channels``, upsample, add, refine.

    Keypoint heatmaps need a fine map (stride 4 or 8) that still sees the whole target:
    the fine level says *where*, the coarse levels say *which* corner it is. Maps are
    given finest first, as ``VoxelCNN(out_indices=(1, 2, 3))`` or a timm ``features_only``
    backbone return them; each coarser one is upsampled (bilinear) to the finest size.

    Args:
        in_channels: Width of each input map, finest first.
        out_channels: Width of the fused map.
        init_cfg: mmengine initialisation config.

    Returns (forward):
        A 1-tuple with the ``(B, out_channels, H_0, W_0)`` fused map at the finest stride.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int = 64,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        if not in_channels:
            raise ValueError('FeatureFusion: in_channels must list at least one map width')
        self.in_channels = tuple(in_channels)
        self.lateral = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.refine = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor]:
        """Tuple of ``(B, C_i, H_i, W_i)``, finest first → ``((B, out, H_0, W_0),)``."""
        if len(feats) != len(self.lateral):
            raise ValueError(f'FeatureFusion: got {len(feats)} maps, expected '
                             f'{len(self.lateral)} (in_channels={self.in_channels}); set the '
                             f"backbone's out_indices to match")
        size = feats[0].shape[-2:]
        fused = self.lateral[0](feats[0])
        for lateral, feat in zip(self.lateral[1:], feats[1:]):
            fused = fused + F.interpolate(lateral(feat), size=size, mode='bilinear',
                                          align_corners=False)
        return (self.refine(fused),)
