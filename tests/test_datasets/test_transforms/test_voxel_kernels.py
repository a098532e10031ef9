"""The fused numba voxel kernel against the np.add.at reference."""
import math
import pickle

import numpy as np
import pytest

from sparkpose.datasets.transforms import voxel_grid_fused, voxel_grid_reference, voxel_kernels
from sparkpose.structures import window_events


def _events(rng, n, dtype=np.uint16, sensor=(1280, 720), window=(0, 100_000)):
    return (rng.integers(0, sensor[0], n).astype(dtype),
            rng.integers(0, sensor[1], n).astype(dtype),
            np.sort(rng.integers(window[0] + 1, window[1] + 1, n)),
            rng.integers(0, 2, n).astype(np.uint8))


@pytest.mark.parametrize('num_bins', [1, 2, 5, 9])
@pytest.mark.parametrize('out_size', [(256, 256), (1280, 720), (97, 61)])
@pytest.mark.parametrize('dtype', [np.uint16, np.int64])
def test_fused_matches_float64_reference(num_bins, out_size, dtype):
    rng = np.random.default_rng(num_bins)
    x, y, t, p = _events(rng, 20_000, dtype)
    args = (x, y, t, p, 0, 100_000, num_bins, 1280, 720, *out_size)
    fast, skipped = voxel_grid_fused(*args)
    ref = voxel_grid_reference(*args)
    assert skipped == 0
    assert fast.dtype == np.float32 and fast.shape == (2 * num_bins, out_size[1], out_size[0])
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-6)
    assert fast.sum(dtype=np.float64) == pytest.approx(20_000, rel=1e-6)


def test_million_events_in_one_cell_stay_within_1e5(monkeypatch):
    rng = np.random.default_rng(1)
    n = 1_000_000
    t = np.sort(rng.integers(1, 100_001, n))
    zeros, ones = np.zeros(n, np.uint16), np.ones(n, np.uint8)
    args = (zeros, zeros, t, ones, 0, 100_000, 5, 1280, 720, 256, 256)
    fast, _ = voxel_grid_fused(*args)
    ref = voxel_grid_reference(*args)
    np.testing.assert_allclose(fast[:, 0, 0], ref[:, 0, 0], rtol=1e-5)
    assert fast.sum(dtype=np.float64) == pytest.approx(n, rel=1e-6)
    # The float64 redo is what keeps it there: float32 alone drifts by more than 1e-5.
    monkeypatch.setattr(window_events, 'FLOAT32_MAX_EVENTS_PER_CELL', np.inf)
    float32_only, _ = voxel_grid_fused(*args)
    assert np.abs(float32_only[:5, 0, 0] / ref[:5, 0, 0] - 1).max() > 1e-5  # ON bins


def test_sparse_cells_accumulate_in_float32_within_1e5_of_float64():
    rng = np.random.default_rng(4)
    args = (*_events(rng, 1_000_000), 0, 100_000, 5, 1280, 720, 256, 256)
    grid = np.zeros((11, 256, 256), np.float32)
    skipped = voxel_kernels._accumulate(*voxel_kernels._kernel_args(*args), grid, None)
    assert skipped == 0
    assert grid[:10].max() * 5 <= window_events.FLOAT32_MAX_EVENTS_PER_CELL  # no float64 redo
    np.testing.assert_allclose(grid[:10], voxel_grid_reference(*args), rtol=1e-5, atol=1e-6)
    assert not grid[10].any()  # the spare plane only ever receives zero weights


def test_time_weights_follow_e2vid_convention():
    # 5 bins over (0, 100]: tau = t / 100 * 4, so t=30 -> 0.8 in bin 1 and 0.2 in bin 2,
    # t=50 -> all in bin 2, t=100 -> all in bin 4.
    x, y = np.full(3, 3), np.full(3, 2)
    t = np.array([30, 50, 100])
    p = np.array([1, 0, 1], np.uint8)
    grid, _ = voxel_grid_fused(x, y, t, p, 0, 100, 5, 8, 8, 8, 8)
    on, off = grid[:5, 2, 3], grid[5:, 2, 3]
    np.testing.assert_allclose(on, [0.0, 0.8, 0.2, 0.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(off, [0.0, 0.0, 1.0, 0.0, 0.0], atol=1e-7)


def test_an_event_at_the_window_end_stays_in_the_last_bin():
    # 8 bins over 100 µs: 100 · (7 / 100) rounds to just above 7 in float64, which put a
    # ~1e-16 weight into the channel after the last bin (the first OFF channel for ON).
    x, y, t, p = np.array([3]), np.array([2]), np.array([100]), np.array([1], np.uint8)
    assert 100 * (7 / 100) > 7
    grid, _ = voxel_grid_fused(x, y, t, p, 0, 100, 8, 8, 8, 8, 8)
    assert grid[7, 2, 3] == pytest.approx(1.0) and not grid[8:].any()
    cells = voxel_kernels.SparseVoxelizer()(x, y, t, p, 0, 100, 8, 8, 8, 8, 8)
    assert cells[2].tolist() == [0] * 6 + [1, 1] + [0] * 8  # channels 6 (~1e-16) and 7


@pytest.mark.parametrize('bad', [dict(x=1280), dict(y=720), dict(x=-1), dict(t=0),
                                 dict(t=100_001), dict(x=65536 + 3), dict(y=-65536)])
def test_events_outside_sensor_or_window_are_skipped_and_counted(bad):
    rng = np.random.default_rng(2)
    x, y, t, p = (a.astype(np.int64) for a in _events(rng, 100))
    arrays = dict(x=x, y=y, t=t, p=p)
    for key, value in bad.items():
        arrays[key][[10, 20, 30]] = value
    grid, skipped = voxel_grid_fused(*arrays.values(), 0, 100_000, 5, 1280, 720, 256, 256)
    assert skipped == 3
    assert grid.sum(dtype=np.float64) == pytest.approx(97, rel=1e-6)


@pytest.mark.parametrize('count, redo', [(32, False), (161, True)])
def test_float64_redo_starts_above_160_events_in_a_pixel(monkeypatch, count, redo):
    # The bound is taken from the finished float32 grid: 161 events spread over the bins of
    # one pixel-polarity must trigger the float64 redo, 32 cannot (plus far-away events
    # so that the window holds more than 160 events).
    rng = np.random.default_rng(5)
    n_other = 1000
    x = np.r_[np.full(count, 7), rng.integers(100, 1280, n_other)].astype(np.uint16)
    y = np.r_[np.full(count, 9), rng.integers(100, 720, n_other)].astype(np.uint16)
    t = rng.integers(1, 100_001, count + n_other)
    p = np.r_[np.ones(count), rng.integers(0, 2, n_other)].astype(np.uint8)
    calls = []
    accumulate = voxel_kernels._accumulate
    monkeypatch.setattr(voxel_kernels, '_accumulate',
                        lambda *a: calls.append(a[-2].dtype) or accumulate(*a))
    args = (x, y, t, p, 0, 100_000, 5, 1280, 720, 256, 256)
    grid, _ = voxel_grid_fused(*args)
    assert calls == [np.float32, np.float64] if redo else calls == [np.float32]
    np.testing.assert_allclose(grid, voxel_grid_reference(*args), rtol=1e-5, atol=1e-6)
    calls.clear()
    _assert_cells_of(grid, *voxel_kernels.SparseVoxelizer()(*args)[:3])
    assert calls == [np.float32, np.float64] if redo else calls == [np.float32]


@pytest.mark.parametrize('p', [np.array([1, -1, 0, 5], np.int8),
                               np.array([127, -128, 0, 1], np.int8),
                               np.array([1, 0, 200, 255], np.uint8),
                               np.array([1, 0, 255, 256], np.int64),
                               np.array([True, False, False, True])])
def test_polarity_is_on_where_positive_for_any_dtype(p):
    x = np.array([1, 2, 3, 4], np.uint16)
    grid, _ = voxel_grid_fused(x, np.zeros(4, np.uint16), np.full(4, 50), p, 0, 100, 1, 8, 8,
                               8, 8)
    np.testing.assert_array_equal(grid[0, 0, 1:5], p > 0)
    np.testing.assert_array_equal(grid[1, 0, 1:5], p <= 0)


def _assert_cells_of(grid, offsets, values, counts):
    """offsets/values/counts are exactly the non-zero cells of grid, plane by plane, bit
    for bit."""
    plane_cells = grid.shape[1] * grid.shape[2]
    flat = grid.reshape(-1)
    nonzero = np.flatnonzero(flat)
    np.testing.assert_array_equal(counts, np.bincount(nonzero // plane_cells,
                                                      minlength=len(grid)))
    np.testing.assert_array_equal(offsets, nonzero % plane_cells)
    np.testing.assert_array_equal(values.view(np.uint32), flat[nonzero].view(np.uint32))


def test_sparse_voxelizer_gives_the_fused_grids_cells_bit_for_bit_call_after_call():
    # One voxelizer over windows of different sizes, geometries and a float64 redo (161
    # events in one pixel): its reused grids must start from zero every time.
    rng = np.random.default_rng(6)
    voxelize = voxel_kernels.SparseVoxelizer()
    hot = (np.full(161, 7, np.uint16), np.full(161, 9, np.uint16),
           np.sort(rng.integers(1, 100_001, 161)), np.ones(161, np.uint8))
    cases = [(_events(rng, 50_000), (256, 256), 5), (hot, (256, 256), 5),
             (_events(rng, 3), (256, 256), 5), (_events(rng, 20_000), (97, 61), 2),
             (tuple(a[:0] for a in hot), (256, 256), 5), (_events(rng, 80_000), (256, 256), 5),
             (_events(rng, 20_000), (1280, 720), 1)]
    for events, out_size, num_bins in cases:
        args = (*events, 0, 100_000, num_bins, 1280, 720, *out_size)
        *cells, skipped = voxelize(*args)
        grid, _ = voxel_grid_fused(*args)
        assert skipped == 0 and cells[1].dtype == np.float32
        assert cells[0].dtype == (np.uint16 if math.prod(out_size) <= 65536 else np.int32)
        _assert_cells_of(grid, *cells)
    assert all(not g.any() for g in voxelize._grids.values())


def test_sparse_voxelizer_counts_skipped_events_and_keeps_the_rest():
    rng = np.random.default_rng(7)
    x, y, t, p = (a.astype(np.int64) for a in _events(rng, 1000))
    x[:4], t[4:6] = -1, 100_001
    _, values, _, skipped = voxel_kernels.SparseVoxelizer()(x, y, t, p, 0, 100_000, 5,
                                                            1280, 720, 256, 256)
    assert skipped == 6
    assert values.sum(dtype=np.float64) == pytest.approx(994, rel=1e-6)


def test_sparse_voxelizer_recovers_from_an_interrupted_call(monkeypatch):
    rng = np.random.default_rng(8)
    args = (*_events(rng, 10_000), 0, 100_000, 5, 1280, 720, 256, 256)
    voxelize = voxel_kernels.SparseVoxelizer()
    gather = voxel_kernels._gather_and_clear
    monkeypatch.setattr(voxel_kernels, '_gather_and_clear',
                        lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        voxelize(*args)  # the events are in the grid, nothing gathered them
    monkeypatch.setattr(voxel_kernels, '_gather_and_clear', gather)
    other = (*_events(rng, 10_000), 0, 100_000, 5, 1280, 720, 256, 256)
    _assert_cells_of(voxel_grid_fused(*other)[0], *voxelize(*other)[:3])


def test_sparse_voxelizer_copies_and_pickles_without_its_grids():
    voxelize = voxel_kernels.SparseVoxelizer()
    voxelize(*_events(np.random.default_rng(9), 100), 0, 100_000, 5, 1280, 720, 256, 256)
    assert voxelize._grids
    assert pickle.loads(pickle.dumps(voxelize))._grids == {}


@pytest.mark.parametrize('n', [0, 1, voxel_kernels.PREFETCH_AHEAD,
                               voxel_kernels.PREFETCH_AHEAD + 1, 5000])
def test_kernels_equal_the_reference_with_events_at_the_borders(n):
    # Lengths around the prefetch distance (the prefetch must stop at the last event), the
    # sensor's corners and the window's first and last tick.
    rng = np.random.default_rng(n)
    x, y, t, p = _events(rng, n, sensor=(97, 61), window=(1000, 1100))
    corners = min(n, 4)
    x[:corners], y[:corners] = [0, 96, 0, 96][:corners], [0, 0, 60, 60][:corners]
    t[:1], t[-1:] = 1001, 1100
    args = (x, y, t, p, 1000, 1100, 3, 97, 61, 32, 16)
    fused, skipped = voxel_grid_fused(*args)
    assert skipped == 0
    np.testing.assert_allclose(fused, voxel_grid_reference(*args), rtol=1e-5, atol=1e-6)
    assert fused.sum(dtype=np.float64) == pytest.approx(n, abs=1e-3)
    *cells, skipped = voxel_kernels.SparseVoxelizer()(*args)
    assert skipped == 0
    _assert_cells_of(fused, *cells)
