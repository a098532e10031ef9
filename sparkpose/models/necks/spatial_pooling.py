"""Spatial pooling neck: keeps a coarse grid of where features are, not only what."""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from sparkpose.registry import MODELS


@MODELS.register_module()
class SpatialPooling(BaseModule):
    """Average-pool each map to a fixed ``output_size`` grid and flatten it.

    Global average pooling discards *where* the target is, yet the image position of the
    spacecraft is what determines ``Tx, Ty``; a small network with a short receptive field
    cannot recover it from padding effects alone. A 4×4 grid keeps it at a cost of 16×
    the feature width (set the head's ``in_channels`` to ``C · h · w``).

    Args:
        output_size: ``(h, w)`` of the pooled grid.

    Returns (forward):
        A tuple of ``(B, C · h · w)`` vectors, same order as the input.
    """

    def __init__(self, output_size: tuple[int, int] = (4, 4), init_cfg: dict | None = None
                 ) -> None:
        super().__init__(init_cfg)
        self.output_size = tuple(output_size)

    def forward(self, feats: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """Tuple of ``(B, C_i, H_i, W_i)`` → tuple of ``(B, C_i · h · w)``."""
        for index, feat in enumerate(feats):
            if feat.ndim != 4:
                raise ValueError(f'SpatialPooling: input {index} has shape '
                                 f'{tuple(feat.shape)}, expected (B, C, H, W)')
        return tuple(F.adaptive_avg_pool2d(feat, self.output_size).flatten(1) for feat in feats)
