"""Batches voxel grids and moves them, with their data samples, to the model's device."""
from collections.abc import Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from sparkpose.registry import MODELS


@MODELS.register_module()
class PoseDataPreprocessor(BaseDataPreprocessor):
    """Stack ``inputs`` into a float32 ``(B, C, H, W)`` batch on the model's device.

    Data samples are moved to the same device and otherwise passed through. Input
    scaling belongs to the representation transform, which knows what its channels mean.

    Args:
        non_blocking: Copy to the device asynchronously.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """``dict(inputs=[(C, H, W)] * B or (B, C, H, W), data_samples=...)`` → batch.

        Returns:
            ``dict(inputs=(B, C, H, W) float32 tensor, data_samples=list or None)``.
        """
        inputs = data['inputs']
        if isinstance(inputs, Sequence):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) != 1:
                raise ValueError(f'PoseDataPreprocessor: inputs of one batch have different '
                                 f'shapes {sorted(shapes)}; the representation transform must '
                                 f'produce one (C, H, W) size')
            inputs = torch.stack(list(inputs))
        if inputs.ndim != 4:
            raise ValueError(f'PoseDataPreprocessor: expected (B, C, H, W) inputs, got shape '
                             f'{tuple(inputs.shape)}')
        return dict(inputs=self.cast_data(inputs).float(),
                    data_samples=self.cast_data(data.get('data_samples')))
