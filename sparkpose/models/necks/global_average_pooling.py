"""Global average pooling neck: feature maps to feature vectors."""
import torch
from mmengine.model import BaseModule

from sparkpose.registry import MODELS


@MODELS.register_module()
class GlobalAveragePooling(BaseModule):
    """Average every ``(B, C, H, W)`` map of a backbone's output tuple over space.

    Returns (forward):
        A tuple of ``(B, C)`` vectors, same order as the input.
    """

    def forward(self, feats: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """Tuple of ``(B, C_i, H_i, W_i)`` → tuple of ``(B, C_i)``."""
        for index, feat in enumerate(feats):
            if feat.ndim != 4:
                raise ValueError(f'GlobalAveragePooling: input {index} has shape '
                                 f'{tuple(feat.shape)}, expected (B, C, H, W)')
        return tuple(feat.mean(dim=(2, 3)) for feat in feats)
