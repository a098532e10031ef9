"""Voxelisation on the model's device: WindowEvents against the numba kernel, end to end."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from sparkpose.datasets import pose_collate
from sparkpose.datasets.transforms import voxel_grid_fused
from sparkpose.registry import MODELS, TRANSFORMS
from sparkpose.structures import GridSpec, WindowEvents, window_events
from sparkpose.structures.grid_normalization import grid_scale
from sparkpose.structures.window_events import window_offsets_reference

DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.cuda)]
SENSOR = (1280, 720)


def _window(rng, n, t_start, t_end, cluster=False):
    if cluster:  # on a target, as real events
        x, y = rng.integers(500, 700, n), rng.integers(300, 420, n)
    else:
        x, y = rng.integers(0, SENSOR[0], n), rng.integers(0, SENSOR[1], n)
    return dict(x=x.astype(np.uint16), y=y.astype(np.uint16),
                t=np.sort(rng.integers(t_start + 1, t_end + 1, n)),
                p=rng.integers(0, 2, n).astype(np.uint8))


def _numba_grid(events, window, spec):
    grid, skipped = voxel_grid_fused(*(events[k] for k in 'xytp'), *window, spec.num_bins,
                                     *spec.sensor_size, *spec.out_size)
    assert skipped == 0
    if spec.normalize:  # the worker path of EventsToVoxelGrid(normalize=...)
        grid /= np.float32(grid_scale(spec.normalize, grid.sum(dtype=np.float64),
                                      np.count_nonzero(grid), spec.sensor_size[0],
                                      spec.out_size[0]))
    return np.log1p(grid) if spec.log1p else grid


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('num_bins, out_size, log1p, normalize', [
    (5, (256, 256), False, None), (1, (1280, 720), False, None), (9, (97, 61), True, None),
    (5, (64, 64), True, 'nonzero_mean'), (3, (320, 180), False, 'pixels_per_cell')])
def test_device_grid_equals_the_numba_kernel(device, num_bins, out_size, log1p, normalize):
    rng = np.random.default_rng(num_bins)
    spec = GridSpec(num_bins, SENSOR, out_size, log1p, normalize)
    # Windows of different lengths and starts, one of them empty, one clustered.
    windows = [(0, 100_000), (250_000, 300_000), (7, 107), (1_000_000, 1_100_000)]
    events = [_window(rng, 20_000, *windows[0]), _window(rng, 5_000, *windows[1], True),
              _window(rng, 0, *windows[2]), _window(rng, 300, *windows[3])]
    batch = WindowEvents.stack([WindowEvents.from_window(e, w, spec)
                                for e, w in zip(events, windows)])
    grid = batch.to_dense(device)
    assert grid.device.type == device and grid.dtype == torch.float32
    expected = np.stack([_numba_grid(e, w, spec) for e, w in zip(events, windows)])
    np.testing.assert_allclose(grid.cpu().numpy(), expected, rtol=1e-5, atol=1e-5)
    assert expected[0].sum() > 0 and not expected[2].any()


@pytest.mark.parametrize('device', DEVICES)
def test_million_events_in_one_cell_are_redone_in_float64(device):
    rng = np.random.default_rng(1)
    n = 1_000_000
    events = dict(x=np.zeros(n, np.uint16), y=np.zeros(n, np.uint16),
                  t=np.sort(rng.integers(1, 100_001, n)), p=np.ones(n, np.uint8))
    spec = GridSpec(5, SENSOR, (256, 256))
    grid = WindowEvents.from_window(events, (0, 100_000), spec).to_dense(device)
    expected = _numba_grid(events, (0, 100_000), spec)
    np.testing.assert_allclose(grid[0, :5, 0, 0].cpu().numpy(), expected[:5, 0, 0], rtol=1e-5)


def test_compact_form_is_9_bytes_per_event_and_checks_the_window():
    rng = np.random.default_rng(2)
    spec = GridSpec(5, SENSOR, (256, 256))
    events = _window(rng, 10_000, 0, 100_000)
    packed = WindowEvents.from_window(events, (0, 100_000), spec)
    assert packed.nbytes == 9 * 10_000 + 16
    events['t'][5] = 0  # on the open end of (0, 100000]
    events['x'][7] = 1280
    with pytest.raises(ValueError, match=r'2 events outside the sensor \(1280, 720\) or the '
                                         r'window \(0, 100000\]'):
        WindowEvents.from_window(events, (0, 100_000), spec)
    with pytest.raises(ValueError, match='differ in length: 10000, 10000, 10000, 9999'):
        WindowEvents.from_window(dict(events, p=events['p'][1:]), (0, 100_000), spec)
    with pytest.raises(ValueError, match='different grid specs'):
        WindowEvents.stack([packed, WindowEvents.from_window(
            _window(rng, 10, 0, 100), (0, 100), GridSpec(4, SENSOR, (256, 256)))])


def _samples(on_device: bool, log1p: bool = False) -> list[dict]:
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=5, input_size=None,
                                  log1p=log1p, on_device=on_device))
    pack = TRANSFORMS.build(dict(type='PackPoseInputs', sparse=False))
    rng = np.random.default_rng(3)
    return [pack(voxel(dict(
        seq_id='RT000', label_index=i, timestamp=i, timestamp_us=100_000 * (i + 1),
        window_us=(100_000 * i, 100_000 * (i + 1)), sensor_size=SENSOR,
        cam_K=np.diag([1000.0, 1000.0, 1.0]), gt_t=np.array([0.0, 0.0, 5.0]),
        gt_q=np.array([0, 0, 0, 1.0]),
        events=_window(rng, n, 100_000 * i, 100_000 * (i + 1), cluster=True))))
        for i, n in enumerate([4000, 0, 900])]


class _Samples(torch.utils.data.Dataset):
    def __init__(self, samples: list) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        return self.samples[index]


@pytest.mark.parametrize('log1p', [False, True])
def test_on_device_pipeline_gives_the_worker_built_batch(log1p):
    preprocessor = MODELS.build(dict(type='PoseDataPreprocessor'))
    dense = preprocessor(pseudo_collate(_samples(False, log1p)))
    raw = _samples(True, log1p)
    assert isinstance(raw[0]['inputs'], WindowEvents)
    for collate in (pseudo_collate, pose_collate):
        built = preprocessor(collate(raw))
        torch.testing.assert_close(built['inputs'], dense['inputs'], rtol=1e-5, atol=1e-5)
        assert built['inputs'].shape == (3, 10, 720, 1280)
        for a, b in zip(built['data_samples'], dense['data_samples']):
            np.testing.assert_array_equal(a.cam_K, b.cam_K)
    # Through a DataLoader worker: the batch arrives in shared memory, same grid.
    loader = DataLoader(_Samples(raw), batch_size=3, num_workers=1, collate_fn=pose_collate)
    from_worker = preprocessor(next(iter(loader)))
    torch.testing.assert_close(from_worker['inputs'], dense['inputs'], rtol=1e-5, atol=1e-5)


def test_sparse_packing_of_raw_events_is_refused():
    voxel = TRANSFORMS.build(dict(type='EventsToFrame', input_size=(64, 64), on_device=True))
    pack = TRANSFORMS.build(dict(type='PackPoseInputs', sparse=True))
    results = voxel(dict(seq_id='RT000', label_index=0, timestamp=0, timestamp_us=100,
                         window_us=(0, 100), sensor_size=SENSOR, cam_K=np.eye(3),
                         events=_window(np.random.default_rng(0), 10, 0, 100)))
    with pytest.raises(ValueError, match='sparse=True has no grid to pack'):
        pack(results)


@pytest.mark.parametrize('device', DEVICES)
def test_an_event_at_the_window_end_stays_in_the_last_bin(device):
    # 8 bins over 100 µs: 100 · (7 / 100) rounds past 7; no weight may leak to channel 8.
    events = dict(x=np.array([3], np.uint16), y=np.array([2], np.uint16), t=np.array([100]),
                  p=np.array([1], np.uint8))
    spec = GridSpec(8, (8, 8), (8, 8))
    grid = WindowEvents.from_window(events, (0, 100), spec).to_dense(device)[0].cpu()
    assert grid[7, 2, 3].item() == pytest.approx(1.0) and not grid[8:].any()


@pytest.mark.parametrize('n', [0, 1, 1000])
def test_window_offsets_equal_the_numpy_reference(n):
    rng = np.random.default_rng(n)
    # Coordinates one past each border and times one past each end of the window (10, 110].
    x = rng.integers(-1, 33, n).astype(np.int16)
    y = rng.integers(-1, 21, n).astype(np.int16)
    t = rng.integers(9, 112, n).astype(np.int64)
    if n:
        x[0], y[0], t[0] = 31, 19, 110  # the last pixel, the window's end: inside
    dt = np.empty(n, np.int64)
    outside = window_events._window_offsets(x, y, t, 10, 110, 32, 20, dt)
    ref_dt, ref_outside = window_offsets_reference(x, y, t, 10, 110, 32, 20)
    np.testing.assert_array_equal(dt, ref_dt)
    assert outside == ref_outside
    assert n < 1000 or 0 < outside < n
