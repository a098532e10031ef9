"""The numba ray walk against its numpy reference."""
import numpy as np
import pytest

from sparkpose.structures import ray_voting
from sparkpose.structures.ray_voting import VoteVolume, walk_reference


def _rays(n, seed=0):
    rng = np.random.default_rng(seed)
    origins = rng.uniform(-3, 3, (5, 3))
    origins[0] = 0.1  # one camera inside the cube
    directions = rng.normal(size=(n, 3))
    directions[: n // 4, rng.integers(0, 3)] = 0  # parallel to a pair of faces
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return origins, directions, rng.integers(0, 5, n)


@pytest.mark.parametrize('n', [0, 1, 400])
def test_walk_equals_the_numpy_reference_in_both_passes(n):
    volume = VoteVolume(half_extent=1.0, voxel=0.1)
    origins, directions, pose = _rays(n, seed=n)
    args = (origins, directions, pose)
    votes, reference = volume.empty(), volume.empty()
    ray_voting._walk(*args, votes, -1.0, 0.1, None)
    walk_reference(*args, reference, -1.0, 0.1)
    np.testing.assert_array_equal(votes, reference)
    winners, reference_winners = volume.empty(), volume.empty()
    ray_voting._walk(*args, votes, -1.0, 0.1, winners)
    walk_reference(*args, votes, -1.0, 0.1, reference_winners)
    np.testing.assert_array_equal(winners, reference_winners)
    assert n < 400 or 0 < winners.sum() <= n < votes.sum()
