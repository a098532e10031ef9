"""EventsToVoxelGrid and EventsToFrame: weights, time binning, coordinates and intrinsics."""
import math

import numpy as np
import pytest
import torch

from sparkpose.registry import TRANSFORMS


def _e2vid_signed_voxel(events, window_us, num_bins, sensor_size, out_size):
    """The classic single-channel E2VID grid (polarity ±1), one event at a time."""
    (t_start, t_end), (w, h), (w_in, h_in) = window_us, sensor_size, out_size
    grid = np.zeros((num_bins, h_in, w_in))
    for x, y, t, p in zip(*(events[k].tolist() for k in 'xytp')):
        col, row = math.floor((x + 0.5) * w_in / w), math.floor((y + 0.5) * h_in / h)
        tau = (num_bins - 1) * (t - t_start) / (t_end - t_start)
        left = int(tau)
        polarity = 1.0 if p == 1 else -1.0
        grid[left, row, col] += polarity * (1 - (tau - left))
        if left + 1 < num_bins:
            grid[left + 1, row, col] += polarity * (tau - left)
    return grid


@pytest.mark.parametrize('num_events', [0, 1, 17, 5000])
@pytest.mark.parametrize('num_bins', [1, 5])
def test_total_weight_equals_event_count(make_sample, num_events, num_bins):
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=num_bins))
    results = voxel(make_sample(num_events, seed=num_events))
    assert results['inputs'].dtype == np.float32
    assert results['inputs'].shape == (2 * num_bins, 256, 256)
    assert results['inputs'].sum(dtype=np.float64) == pytest.approx(num_events, abs=1e-3)
    assert results['inputs'].min() >= 0


@pytest.mark.parametrize('num_bins,out_size', [(5, (256, 256)), (3, (320, 180)),
                                               (2, (1280, 720))])
def test_on_minus_off_equals_e2vid_signed_grid(make_sample, num_bins, out_size):
    sample = make_sample(1500, seed=3)
    expected = _e2vid_signed_voxel(sample['events'], sample['window_us'], num_bins,
                                   sample['sensor_size'], out_size)
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=num_bins,
                                  input_size=out_size))
    grid = voxel(sample)['inputs']
    np.testing.assert_allclose(grid[:num_bins] - grid[num_bins:], expected, atol=1e-5)


def test_empty_window_gives_zero_grid_of_right_shape(make_sample):
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=4, input_size=(64, 48)))
    results = voxel(make_sample(0, with_pose=False))
    assert results['inputs'].shape == (8, 48, 64)
    assert not results['inputs'].any()
    assert results['input_size'] == (64, 48)


@pytest.mark.parametrize('out_size', [(256, 256), (320, 180), (1280, 720)])
def test_sensor_corners_map_to_input_corners(make_sample, out_size):
    events = dict(x=np.array([0, 1279, 0, 1279], np.uint16),
                  y=np.array([0, 0, 719, 719], np.uint16),
                  t=np.array([5_000_100] * 4), p=np.ones(4, np.uint8))
    frame = TRANSFORMS.build(dict(type='EventsToFrame', input_size=out_size))
    counts = frame(make_sample(events=events))['inputs'][0]
    w_in, h_in = out_size
    rows, cols = np.nonzero(counts)
    assert sorted(zip(rows.tolist(), cols.tolist())) == [
        (0, 0), (0, w_in - 1), (h_in - 1, 0), (h_in - 1, w_in - 1)]


@pytest.mark.parametrize('out_size', [(256, 256), (320, 180), (256, 144)])
def test_point_projected_with_scaled_K_lands_in_its_events_cell(make_sample, out_size):
    sample = make_sample(0)
    k_sensor = sample['cam_K']
    rng = np.random.default_rng(4)
    # Pixel centres anywhere on the sensor, as 3-D points at random depths.
    centres = np.stack([rng.integers(0, 1280, 200) + 0.5, rng.integers(0, 720, 200) + 0.5,
                        np.ones(200)])
    points = np.linalg.solve(k_sensor, centres) * rng.uniform(3, 12, 200)
    pixel = k_sensor @ points / points[2]
    events = dict(x=np.floor(pixel[0]).astype(np.int64), y=np.floor(pixel[1]).astype(np.int64),
                  t=np.full(200, 5_050_000), p=np.ones(200, np.uint8))
    np.testing.assert_array_equal(events['x'] + 0.5, centres[0])
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=1, input_size=out_size))
    results = voxel(make_sample(events=events))
    k_input = results['cam_K']
    np.testing.assert_allclose(
        k_input, np.diag([out_size[0] / 1280, out_size[1] / 720, 1]) @ k_sensor, rtol=1e-15)
    # Some centres project exactly onto a cell border (e.g. y = 22.5 -> 8.0 at 720 -> 256);
    # rounding keeps the solve's last-bit error from deciding the side.
    projected = np.floor(np.round(k_input @ points / points[2], 9)).astype(int)
    for i in range(200):
        single = voxel(make_sample(events={k: v[i:i + 1] for k, v in events.items()}))
        cell = np.argwhere(single['inputs'][0])
        assert cell.tolist() == [[projected[1, i], projected[0, i]]], i


def test_integer_downscale_keeps_any_point_in_its_events_cell(make_sample):
    # With W/W_in and H/H_in integers (1280x720 -> 256x144) every input pixel is a block of
    # whole sensor pixels, so this holds for arbitrary points, not only pixel centres.
    rng = np.random.default_rng(5)
    u = np.stack([rng.uniform(0, 1280, 500), rng.uniform(0, 720, 500), np.ones(500)])
    events = dict(x=np.floor(u[0]).astype(np.int64), y=np.floor(u[1]).astype(np.int64),
                  t=np.full(500, 5_050_000), p=np.zeros(500, np.uint8))
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=1, input_size=(256, 144)))
    results = voxel(make_sample(events=events))
    k_sensor, k_input = make_sample(0)['cam_K'], results['cam_K']
    cells = np.floor(k_input @ np.linalg.solve(k_sensor, u)).astype(int)
    expected = np.zeros((144, 256))
    np.add.at(expected, (cells[1], cells[0]), 1)
    np.testing.assert_array_equal(results['inputs'][1], expected)


def test_none_input_size_keeps_sensor_resolution(make_sample):
    sample = make_sample(3000, seed=6)
    k_sensor, events = sample['cam_K'].copy(), sample['events']
    results = TRANSFORMS.build(dict(type='EventsToFrame', input_size=None))(sample)
    assert results['inputs'].shape == (2, 720, 1280)
    assert results['input_size'] == (1280, 720)
    np.testing.assert_array_equal(results['cam_K'], k_sensor)
    expected = np.zeros((2, 720, 1280))
    np.add.at(expected, (1 - events['p'].astype(int), events['y'], events['x']), 1)
    np.testing.assert_array_equal(results['inputs'], expected)


def test_frame_log1p(make_sample):
    sample = make_sample(4000, seed=7)
    counts = TRANSFORMS.build(dict(type='EventsToFrame', input_size=(64, 64)))(
        make_sample(4000, seed=7))['inputs']
    logged = TRANSFORMS.build(dict(type='EventsToFrame', input_size=(64, 64), log1p=True))(
        sample)['inputs']
    assert counts.max() > 1
    assert logged.dtype == np.float32
    np.testing.assert_allclose(logged, np.log1p(counts), rtol=1e-6)


def test_events_outside_window_raise_with_sample_name(make_sample):
    sample = make_sample(100)
    sample['events']['t'][-1] = sample['window_us'][1] + 1
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid'))
    with pytest.raises(ValueError, match=r'RT007\[50\] has 1 events outside'):
        voxel(sample)


def test_second_representation_raises(make_sample):
    results = TRANSFORMS.build(dict(type='EventsToVoxelGrid'))(make_sample(10))
    with pytest.raises(ValueError, match='already went through a representation'):
        TRANSFORMS.build(dict(type='EventsToFrame'))(results)


@pytest.mark.parametrize('cfg', [dict(num_bins=0), dict(input_size=(256,)),
                                 dict(input_size=(0, 256)), dict(sparse=True, on_device=True),
                                 dict(normalize='mean')])
def test_bad_config_raises(cfg):
    with pytest.raises(ValueError, match='EventsToVoxelGrid'):
        TRANSFORMS.build(dict(type='EventsToVoxelGrid', **cfg))


def test_bad_sample_raises_with_its_name(make_sample):
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid'))
    sample = make_sample(0)
    sample['window_us'] = (100, 100)
    with pytest.raises(ValueError, match=r'RT007\[50\] window_us \(100, 100\) is empty'):
        voxel(sample)
    sample = make_sample(10)
    sample['events']['p'] = sample['events']['p'][:5]
    with pytest.raises(ValueError, match='differ in length: 10, 10, 10, 5'):
        voxel(sample)


@pytest.mark.parametrize('cfg', [dict(type='EventsToVoxelGrid'),
                                 dict(type='EventsToVoxelGrid', log1p=True, num_bins=3,
                                      input_size=(320, 180)),
                                 dict(type='EventsToFrame', log1p=True),
                                 dict(type='EventsToVoxelGrid', log1p=True, input_size=(64, 64),
                                      normalize='nonzero_mean'),
                                 dict(type='EventsToFrame', normalize='pixels_per_cell')])
def test_sparse_gives_the_dense_grids_cells_bit_for_bit(make_sample, cfg):
    # Several samples through one transform: its reused grids must not leak between them.
    dense = TRANSFORMS.build(cfg)
    sparse = TRANSFORMS.build(dict(cfg, sparse=True))
    for seed, num_events in [(1, 30_000), (2, 0), (3, 5000)]:
        grid = dense(make_sample(num_events, seed=seed))['inputs']
        results = sparse(make_sample(num_events, seed=seed))
        cells = results['inputs']
        assert cells.shape == grid.shape
        assert torch.equal(cells.to_dense().view(torch.int32),
                           torch.from_numpy(grid).view(torch.int32))
        assert len(cells.values) == np.count_nonzero(grid)
        assert results['input_size'] == (grid.shape[2], grid.shape[1])


def test_sparse_events_outside_window_raise_with_sample_name(make_sample):
    sample = make_sample(100)
    sample['events']['x'][3] = 5000
    with pytest.raises(ValueError, match=r'RT007\[50\] has 1 events outside'):
        TRANSFORMS.build(dict(type='EventsToVoxelGrid', sparse=True))(sample)


def _repeated(sample, times):
    sample['events'] = {k: np.repeat(v, times) for k, v in sample['events'].items()}
    return sample


@pytest.mark.parametrize('sparse', [False, True])
def test_nonzero_mean_grid_ignores_the_event_rate(make_sample, sparse):
    # Every event fired three times (a sensor three times as sensitive) gives the same grid.
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', input_size=(64, 64), log1p=True,
                                  normalize='nonzero_mean', sparse=sparse))
    plain, busy = (voxel(_repeated(make_sample(4000, seed=2), n))['inputs'] for n in (1, 3))
    if sparse:
        plain, busy = plain.to_dense().numpy(), busy.to_dense().numpy()
    np.testing.assert_allclose(busy, plain, rtol=1e-6)
    # The mean of the non-zero cells is 1 before log1p.
    assert np.expm1(plain[plain > 0]).mean() == pytest.approx(1.0, rel=1e-5)


def test_pixels_per_cell_divides_by_the_cells_sensor_width(make_sample):
    raw = TRANSFORMS.build(dict(type='EventsToVoxelGrid', input_size=(320, 180)))
    scaled = TRANSFORMS.build(dict(type='EventsToVoxelGrid', input_size=(320, 180),
                                   normalize='pixels_per_cell'))
    np.testing.assert_allclose(scaled(make_sample(3000, seed=4))['inputs'] * 4,
                               raw(make_sample(3000, seed=4))['inputs'], rtol=1e-6)


def test_normalized_empty_window_stays_zero(make_sample):
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', input_size=(64, 64), log1p=True,
                                  normalize='nonzero_mean'))
    grid = voxel(make_sample(0, with_pose=False))['inputs']
    assert np.isfinite(grid).all() and not grid.any()
