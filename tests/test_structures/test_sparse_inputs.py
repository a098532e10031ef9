"""SparseInputs: exact round trip to dense, batching, offset dtypes."""
import numpy as np
import pytest
import torch

from sparkpose.structures import SparseInputs
from sparkpose.structures.sparse_inputs import nonzero_cells_reference


def _grid(seed=0, shape=(10, 16, 24), density=0.05):
    rng = np.random.default_rng(seed)
    grid = np.zeros(shape, np.float32)
    mask = rng.random(shape) < density
    grid[mask] = rng.random(mask.sum()).astype(np.float32) * 7
    return grid


def _bits(array):
    return np.asarray(array, dtype=np.float32).view(np.uint32)


def test_from_dense_stores_non_zero_cells_plane_by_plane():
    grid = _grid()
    sparse = SparseInputs.from_dense(grid)
    flat = grid.reshape(-1)
    nonzero = np.flatnonzero(flat)
    assert sparse.shape == (10, 16, 24) and len(sparse) == 10
    assert sparse.offsets.dtype == torch.uint16 and sparse.values.dtype == torch.float32
    np.testing.assert_array_equal(sparse.offsets.numpy(), nonzero % (16 * 24))
    np.testing.assert_array_equal(sparse.counts.numpy(), np.count_nonzero(grid, axis=(1, 2)))
    np.testing.assert_array_equal(sparse.values.numpy(), flat[nonzero])
    assert sparse.nbytes == 6 * len(nonzero) + 8 * 10


def test_round_trip_is_bit_exact_with_negative_zero_nan_and_float64_input():
    grid = _grid(1).astype(np.float64)
    grid[0, 0, :4] = [-0.0, np.nan, np.inf, 1e-45]  # 1e-45: the smallest float32 subnormal
    dense = SparseInputs.from_dense(grid).to_dense()
    assert dense.dtype == torch.float32 and dense.shape == (10, 16, 24)
    np.testing.assert_array_equal(_bits(dense.numpy()), _bits(grid))
    assert np.signbit(dense[0, 0, 0].item())


def test_all_zero_grid_stores_nothing():
    sparse = SparseInputs.from_dense(np.zeros((2, 3, 4), np.float32))
    assert len(sparse.values) == 0 and sparse.counts.tolist() == [0, 0]
    assert torch.equal(sparse.to_dense(), torch.zeros(2, 3, 4))


def test_stack_equals_stacked_dense_without_rewriting_offsets():
    grids = [_grid(seed) for seed in range(3)] + [np.zeros((10, 16, 24), np.float32)]
    items = [SparseInputs.from_dense(g) for g in grids]
    batch = SparseInputs.stack(items)
    assert batch.shape == (4, 10, 16, 24) and len(batch) == 4
    assert torch.equal(batch.offsets, torch.cat([item.offsets for item in items]))
    assert batch.counts.shape == (40,)
    assert torch.equal(batch.to_dense(), torch.from_numpy(np.stack(grids)))


def test_planes_beyond_65536_cells_use_int32_offsets():
    grid = np.zeros((2, 300, 300), np.float32)
    grid[1, 299, 299] = 3.0
    sparse = SparseInputs.from_dense(grid)
    assert sparse.offsets.dtype == torch.int32 and sparse.offsets.tolist() == [90_000 - 1]
    assert torch.equal(SparseInputs.stack([sparse, sparse]).to_dense()[1],
                       torch.from_numpy(grid))


def test_stack_refuses_different_shapes_and_bad_parts():
    a = SparseInputs.from_dense(np.ones((2, 4, 4)))
    b = SparseInputs.from_dense(np.ones((2, 8, 8)))
    with pytest.raises(ValueError, match=r'different shapes \[\(2, 4, 4\), \(2, 8, 8\)\]'):
        SparseInputs.stack([a, b])
    counts = torch.tensor([2, 1])
    with pytest.raises(ValueError, match=r'one length, got shapes \(3,\) and \(2,\)'):
        SparseInputs(torch.zeros(3, dtype=torch.uint16), torch.zeros(2), counts, (2, 4, 4))
    with pytest.raises(ValueError, match='must be torch.uint16, got torch.int64'):
        SparseInputs(torch.zeros(3, dtype=torch.int64), torch.zeros(3), counts, (2, 4, 4))
    with pytest.raises(ValueError, match=r'counts must be int64 of shape \(2,\)'):
        SparseInputs(torch.zeros(3, dtype=torch.uint16), torch.zeros(3), counts[:1], (2, 4, 4))
    with pytest.raises(ValueError, match=r'shape must be \(..., H, W\)'):
        SparseInputs.from_dense(np.ones(4))


@pytest.mark.parametrize('shape', [(3, 5, 7), (1, 1), (2, 1, 1), (2, 3, 5, 7)])
def test_odd_sizes_and_unaligned_arrays_round_trip(shape):
    rng = np.random.default_rng(3)
    grid = np.where(rng.random(shape) < 0.5, rng.random(shape), 0).astype(np.float32)
    grid.reshape(-1)[-1] = 2.5  # the last cell sits outside the word pairs when odd
    unaligned = np.frombuffer(b'\0' * 4 + grid.tobytes(), np.float32)[1:].reshape(shape)
    for array in (grid, unaligned):
        sparse = SparseInputs.from_dense(array)
        assert len(sparse.values) == np.count_nonzero(grid)
        assert torch.equal(sparse.to_dense(), torch.from_numpy(grid))


def test_uint16_offsets_above_int16_range_round_trip():
    # Offsets >= 32768 travel as int16 bit patterns and are unwrapped on the device.
    grid = np.zeros((2, 256, 256), np.float32)
    grid[0, 200, 3], grid[1, 255, 255] = 1.0, 5.0
    sparse = SparseInputs.from_dense(grid)
    assert sparse.offsets.tolist() == [200 * 256 + 3, 65535]
    assert torch.equal(sparse.to_dense(), torch.from_numpy(grid))


@pytest.mark.parametrize('shape,density', [((10, 16, 24), 0.05), ((3, 5, 7), 0.5),
                                           ((2, 3, 5), 0.0), ((4, 1, 1), 1.0), ((0, 4, 4), 0.5),
                                           ((1, 9, 1), 0.3)])
def test_from_dense_equals_the_numpy_reference(shape, density):
    grid = _grid(seed=len(shape) + shape[-1], shape=shape, density=density)
    if grid.size:  # the border cells and the bit patterns that compare equal to zero or not
        flat = grid.reshape(-1)
        flat[0], flat[-1] = -0.0, np.nan
    sparse = SparseInputs.from_dense(grid)
    offsets, values, counts = nonzero_cells_reference(grid)
    assert sparse.offsets.numpy().astype(np.int64).tolist() == offsets.tolist()
    np.testing.assert_array_equal(_bits(sparse.values), _bits(values))
    assert sparse.counts.tolist() == counts.tolist()
