"""Additive noise on the network input."""
import numpy as np

from sparkpose.registry import TRANSFORMS

from .base import RandomTransform, sample_rng


@TRANSFORMS.register_module()
class RandomVoxelNoise(RandomTransform):
    """Add uniform noise in ``[0, max_amplitude)`` to every cell of ``inputs``.

    Small uniform noise in ``[0, 0.05)`` by default: a dense, non-negative floor that
    keeps the network from relying on exact zeros in empty cells. Must come after the
    representation transform.

    Args:
        prob: Probability of adding noise.
        max_amplitude: Upper bound of the noise, in the units of ``inputs`` (event weights).
    """

    stage = 'inputs'

    def __init__(self, prob: float = 0.2, max_amplitude: float = 0.05) -> None:
        super().__init__(prob)
        if max_amplitude < 0:
            raise ValueError(f'RandomVoxelNoise: max_amplitude must be >= 0, '
                             f'got {max_amplitude!r}')
        self.max_amplitude = max_amplitude

    def transform(self, results: dict) -> dict:
        """Replace ``inputs`` by ``inputs + U[0, max_amplitude)`` (float32, new array)."""
        inputs = results['inputs']
        noise = sample_rng(results).random(inputs.shape) * self.max_amplitude
        results['inputs'] = inputs + noise.astype(np.float32)
        return results
