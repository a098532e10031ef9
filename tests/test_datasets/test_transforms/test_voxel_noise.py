"""RandomVoxelNoise on the network input."""
import numpy as np
import pytest

from sparkpose.registry import TRANSFORMS


def test_noise_is_uniform_below_max_amplitude(make_sample):
    results = TRANSFORMS.build(dict(type='EventsToVoxelGrid'))(make_sample(3000))
    clean = results['inputs'].copy()
    np.random.seed(0)
    noisy = TRANSFORMS.build(dict(type='RandomVoxelNoise', prob=1.0, max_amplitude=0.05))(
        results)['inputs']
    added = noisy.astype(np.float64) - clean
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape
    assert added.min() >= -1e-6 and added.max() < 0.05 + 1e-6
    assert added.mean() == pytest.approx(0.025, abs=1e-3)  # U[0, 0.05) has mean 0.025


def test_prob_zero_leaves_inputs(make_sample):
    results = TRANSFORMS.build(dict(type='EventsToVoxelGrid'))(make_sample(100))
    clean = results['inputs'].copy()
    out = TRANSFORMS.build(dict(type='RandomVoxelNoise', prob=0.0))(results)['inputs']
    np.testing.assert_array_equal(out, clean)


def test_noise_before_representation_raises(make_sample):
    with pytest.raises(ValueError, match="must come after the representation"):
        TRANSFORMS.build(dict(type='RandomVoxelNoise', prob=1.0))(make_sample(10))
