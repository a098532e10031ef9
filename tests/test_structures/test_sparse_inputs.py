"""SparseInputs: exact round trip to dense, batching, index dtypes."""
import numpy as np
import pytest
import torch

from sparkpose.structures import SparseInputs


def _grid(seed=0, shape=(10, 16, 24), density=0.05):
    rng = np.random.default_rng(seed)
    grid = np.zeros(shape, np.float32)
    mask = rng.random(shape) < density
    grid[mask] = rng.random(mask.sum()).astype(np.float32) * 7
    return grid


def _bits(array):
    return np.asarray(array, dtype=np.float32).view(np.uint32)


def test_from_dense_stores_non_zero_cells_in_order():
    grid = _grid()
    sparse = SparseInputs.from_dense(grid)
    flat = grid.reshape(-1)
    assert sparse.shape == (10, 16, 24) and len(sparse) == 10
    assert sparse.indices.dtype == torch.int32 and sparse.values.dtype == torch.float32
    np.testing.assert_array_equal(sparse.indices.numpy(), np.flatnonzero(flat))
    np.testing.assert_array_equal(sparse.values.numpy(), flat[flat != 0])
    assert sparse.nbytes == 8 * np.count_nonzero(flat)


def test_round_trip_is_bit_exact_with_negative_zero_nan_and_float64_input():
    grid = _grid(1).astype(np.float64)
    grid[0, 0, :4] = [-0.0, np.nan, np.inf, 1e-45]  # 1e-45: the smallest float32 subnormal
    dense = SparseInputs.from_dense(grid).to_dense()
    assert dense.dtype == torch.float32 and dense.shape == (10, 16, 24)
    np.testing.assert_array_equal(_bits(dense.numpy()), _bits(grid))
    assert np.signbit(dense[0, 0, 0].item())


def test_all_zero_grid_stores_nothing():
    sparse = SparseInputs.from_dense(np.zeros((2, 3, 4), np.float32))
    assert len(sparse.values) == 0 and sparse.nbytes == 0
    assert torch.equal(sparse.to_dense(), torch.zeros(2, 3, 4))


def test_stack_equals_stacked_dense_and_keeps_int32_when_it_fits():
    grids = [_grid(seed) for seed in range(3)] + [np.zeros((10, 16, 24), np.float32)]
    batch = SparseInputs.stack([SparseInputs.from_dense(g) for g in grids])
    assert batch.shape == (4, 10, 16, 24) and len(batch) == 4
    assert batch.indices.dtype == torch.int32
    np.testing.assert_array_equal(batch.indices.numpy(), np.flatnonzero(np.stack(grids)))
    assert torch.equal(batch.to_dense(), torch.from_numpy(np.stack(grids)))


def test_stack_switches_to_int64_before_int32_overflows():
    # Two samples of 2**30 + 1 cells: the second one's offset no longer fits in int32.
    cells = 2**30 + 1
    item = SparseInputs(torch.tensor([0, cells - 1], dtype=torch.int32),
                        torch.tensor([1.0, 2.0]), (cells,))
    batch = SparseInputs.stack([item, item])
    assert batch.indices.dtype == torch.int64 and batch.shape == (2, cells)
    assert batch.indices.tolist() == [0, cells - 1, cells, 2 * cells - 1]
    assert batch.values.tolist() == [1.0, 2.0, 1.0, 2.0]


def test_stack_refuses_different_shapes_and_bad_parts():
    a = SparseInputs.from_dense(np.ones((2, 4, 4)))
    b = SparseInputs.from_dense(np.ones((2, 8, 8)))
    with pytest.raises(ValueError, match=r'different shapes \[\(2, 4, 4\), \(2, 8, 8\)\]'):
        SparseInputs.stack([a, b])
    with pytest.raises(ValueError, match=r'one length, got shapes \(3,\) and \(2,\)'):
        SparseInputs(torch.zeros(3, dtype=torch.int32), torch.zeros(2), (4,))
    with pytest.raises(ValueError, match='int32 or int64, got torch.float32'):
        SparseInputs(torch.zeros(2), torch.zeros(2), (4,))


@pytest.mark.parametrize('shape', [(3, 5, 7), (1,), (2, 1, 1)])
def test_odd_sizes_and_unaligned_arrays_round_trip(shape):
    rng = np.random.default_rng(3)
    grid = np.where(rng.random(shape) < 0.5, rng.random(shape), 0).astype(np.float32)
    grid.reshape(-1)[-1] = 2.5  # the last cell sits outside the word pairs when odd
    unaligned = np.frombuffer(b'\0' * 4 + grid.tobytes(), np.float32)[1:].reshape(shape)
    for array in (grid, unaligned):
        sparse = SparseInputs.from_dense(array)
        np.testing.assert_array_equal(sparse.indices.numpy(), np.flatnonzero(grid))
        assert torch.equal(sparse.to_dense(), torch.from_numpy(grid))
