"""Batches voxel grids and moves them, with their data samples, to the model's device."""
from collections.abc import Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from sparkpose.registry import MODELS
from sparkpose.structures.packed_inputs import PACKED_INPUTS, packed_form


@MODELS.register_module()
class PoseDataPreprocessor(BaseDataPreprocessor):
    """Make ``inputs`` a float32 ``(B, C, H, W)`` batch on the model's device.

    Takes what ``pseudo_collate`` or ``pose_collate`` make of packed samples: a list of
    ``(C, H, W)`` tensors, a ``(B, C, H, W)`` tensor, or the same as
    :class:`~sparkpose.structures.SparseInputs` (one per sample or one per
    batch), which is densified on the device, so that only the non-zero cells travel
    there, or a window's raw events as :class:`~sparkpose.structures.WindowEvents`, whose
    voxel grid is built on the device. Data samples are moved to the same device and
    otherwise passed through. Input scaling belongs to the representation transform, which
    knows what its channels mean.

    In training, ``noise_prob`` adds uniform noise to the input on the device (torch's RNG,
    seeded by the Runner): a dense, non-negative floor that keeps the network from relying
    on exact zeros in empty cells. It lives here, not in the pipeline, because a noisy grid
    is fully dense: packed sparse in a worker it would cost twice a dense tensor.

    Args:
        noise_prob: Probability, per sample, of adding uniform noise in
            ``[0, noise_amplitude)`` to every cell of its input during training (0: off).
        noise_amplitude: Upper bound of that noise, in the units of ``inputs``.
        non_blocking: Copy to the device asynchronously.
    """

    def __init__(self, noise_prob: float = 0.0, noise_amplitude: float = 0.05,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if not 0.0 <= noise_prob <= 1.0 or noise_amplitude < 0:
            raise ValueError(f'PoseDataPreprocessor: need 0 <= noise_prob <= 1 and '
                             f'noise_amplitude >= 0, got {noise_prob!r}, {noise_amplitude!r}')
        self.noise_prob, self.noise_amplitude = noise_prob, noise_amplitude
        self.non_blocking = non_blocking

    def forward(self, data: dict, training: bool = False) -> dict:
        """``dict(inputs=..., data_samples=...)`` → batch on the device.

        Returns:
            ``dict(inputs=(B, C, H, W) float32 tensor, data_samples=list or None)``.
        """
        inputs = data['inputs']
        form = packed_form(inputs, 'PoseDataPreprocessor') if isinstance(
            inputs, Sequence) else None
        if form is not None:
            inputs = form.stack(inputs)
        if isinstance(inputs, PACKED_INPUTS):
            inputs = inputs.to_dense(self.device, non_blocking=self.non_blocking)
        elif isinstance(inputs, Sequence):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) != 1:
                raise ValueError(f'PoseDataPreprocessor: inputs of one batch have different '
                                 f'shapes {sorted(shapes)}; the representation transform must '
                                 f'produce one (C, H, W) size')
            inputs = torch.stack(list(inputs))
        if inputs.ndim != 4:
            raise ValueError(f'PoseDataPreprocessor: expected (B, C, H, W) inputs, got shape '
                             f'{tuple(inputs.shape)}')
        inputs = self.cast_data(inputs).float()
        if training and self.noise_prob > 0:
            hit = torch.rand(len(inputs), 1, 1, 1, device=inputs.device) < self.noise_prob
            inputs = inputs + hit * torch.rand_like(inputs) * self.noise_amplitude
        return dict(inputs=inputs, data_samples=self.cast_data(data.get('data_samples')))
