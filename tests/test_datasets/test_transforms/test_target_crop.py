"""CropToTarget: robust target localisation, exact event/intrinsics shift, fallback, jitter."""
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope

from sparkpose.datasets.spades_format import SPADES_CAMERA
from sparkpose.datasets.transforms import locate_target
from sparkpose.registry import TRANSFORMS
from sparkpose.simulation import SequenceOptions, camera_for_resolution, generate_sequence
from sparkpose.structures import proba2_like

# The camera of conftest's make_sample.
SENSOR_SIZE = (SPADES_CAMERA['Nu'], SPADES_CAMERA['Nv'])
CAM_K = np.array(SPADES_CAMERA['cameraMatrix'], dtype=np.float64)
WINDOW_US = (5_000_000, 5_100_000)
# The target box used by the synthetic windows: [x0, x1) x [y0, y1) on the 1280x720 sensor.
TARGET_BOX = (500, 250, 740, 410)


def _crop(**cfg):
    return TRANSFORMS.build(dict(type='CropToTarget', **cfg))


def _target(rng, box=TARGET_BOX, num=20_000):
    """A spacecraft-like cluster: a dense 5 px outline of ``box`` and a sparser inside."""
    x0, y0, x1, y1 = box
    num_edge = num * 3 // 4
    along = rng.uniform(0, 1, num_edge)
    across = rng.integers(0, 5, num_edge)
    side = rng.integers(0, 4, num_edge)
    x = np.where(side < 2, x0 + along * (x1 - x0),
                 np.where(side == 2, x0 + across, x1 - 1 - across))
    y = np.where(side >= 2, y0 + along * (y1 - y0),
                 np.where(side == 0, y0 + across, y1 - 1 - across))
    x = np.r_[x, rng.uniform(x0, x1, num - num_edge)].astype(np.int64)
    y = np.r_[y, rng.uniform(y0, y1, num - num_edge)].astype(np.int64)
    return x, y


def _noise(rng, num, sensor=SENSOR_SIZE, hot_pixels=0):
    """Uniform noise plus ``hot_pixels`` pixels firing 200-600 times each."""
    counts = rng.integers(200, 600, hot_pixels)
    x, y = (np.r_[rng.integers(0, size, num), np.repeat(rng.integers(0, size, hot_pixels),
                                                         counts)] for size in sensor)
    return x, y


def _events(rng, *parts, dtype=np.uint16, window_us=WINDOW_US):
    """Events from ``(x, y)`` parts, in random order, sorted by time in ``window_us``."""
    x, y = (np.concatenate([part[i] for part in parts]) for i in (0, 1))
    order = rng.permutation(len(x))
    return dict(x=x[order].astype(dtype), y=y[order].astype(dtype),
                t=np.sort(rng.integers(window_us[0] + 1, window_us[1] + 1, len(x))),
                p=rng.integers(0, 2, len(x)).astype(np.uint8))


def _centre_and_side(results):
    x0, y0, side = results['crop_box']
    return np.array([x0 + side / 2, y0 + side / 2]), side


def _project(K, points):
    uvw = points @ np.asarray(K).T
    return uvw[:, :2] / uvw[:, 2:]


@pytest.mark.parametrize('dtype', [np.uint16, np.int64])
def test_crop_frames_the_target_and_shifts_events(make_sample, dtype):
    rng = np.random.default_rng(0)
    events = _events(rng, _target(rng), _noise(rng, 14_000, hot_pixels=3), dtype=dtype)
    before = {k: v.copy() for k, v in events.items()}
    results = _crop()(make_sample(events=events, with_pose=False))
    x0, y0, side = results['crop_box']
    assert all(type(v) is int for v in (x0, y0, side)) and results['crop_fallback'] is False
    # The box is the outline (within its 5 px band); crop = 1.25 x its longer side.
    centre, _ = _centre_and_side(results)
    np.testing.assert_allclose(centre, [620, 330], atol=2)
    assert 1.25 * 230 <= side <= 1.25 * 240 + 1
    assert results['sensor_size'] == (side, side)

    out = results['events']
    assert out['x'].dtype == dtype and out['y'].dtype == dtype
    assert out['t'].dtype == np.int64 and out['p'].dtype == np.uint8
    inside = ((before['x'] >= x0) & (before['x'] < x0 + side) & (before['y'] >= y0)
              & (before['y'] < y0 + side))
    assert 0 < inside.sum() < len(inside)
    np.testing.assert_array_equal(out['x'], before['x'][inside].astype(int) - x0)
    np.testing.assert_array_equal(out['y'], before['y'][inside].astype(int) - y0)
    np.testing.assert_array_equal(out['t'], before['t'][inside])
    np.testing.assert_array_equal(out['p'], before['p'][inside])
    for key in 'xytp':  # the reader's arrays are not written to
        np.testing.assert_array_equal(events[key], before[key])


@pytest.mark.parametrize('noise_share', [0.3, 0.6])
def test_added_noise_and_hot_pixels_barely_move_the_crop(make_sample, noise_share):
    rng = np.random.default_rng(1)
    target, base_noise = _target(rng), _noise(rng, 14_000, hot_pixels=2)
    clean = _crop()(make_sample(events=_events(rng, target, base_noise), with_pose=False))
    # Hot pixels (one inside the target), then uniform noise making noise_share of the window.
    hot = [_noise(rng, 0, hot_pixels=6), (np.full(400, 600), np.full(400, 300))]
    num_other = sum(len(part[0]) for part in [target, base_noise, *hot])
    uniform = _noise(rng, int(np.ceil(num_other * noise_share / (1 - noise_share))))
    noisy_events = _events(rng, target, base_noise, *hot, uniform)
    assert len(uniform[0]) >= noise_share * len(noisy_events['x'])
    noisy = _crop()(make_sample(events=noisy_events, with_pose=False))
    assert noisy['crop_fallback'] is False
    (centre, side), (noisy_centre, noisy_side) = _centre_and_side(clean), _centre_and_side(noisy)
    assert np.abs(noisy_centre - centre).max() <= 3
    assert abs(noisy_side / side - 1) <= 0.1


def test_percentile_box_of_all_events_would_fail_here():
    """Guards the test above: the naive box is far off under this noise, the located one not."""
    rng = np.random.default_rng(2)
    x, y = (np.r_[a, b] for a, b in zip(_target(rng), _noise(rng, 20_000, hot_pixels=6)))
    naive = np.percentile(x, [2, 98]), np.percentile(y, [2, 98])
    assert naive[0][1] - naive[0][0] > 1.5 * (TARGET_BOX[2] - TARGET_BOX[0])
    box = locate_target(x, y, SENSOR_SIZE, 32)
    np.testing.assert_allclose(box, TARGET_BOX, atol=6)


def test_parts_across_a_gap_are_kept_together(make_sample):
    """A wing 5 cells from the bus (clusters only bridge 2 empty cells) stays in the crop."""
    rng = np.random.default_rng(3)
    bus, wing = _target(rng, (460, 250, 660, 410), 15_000), _target(rng, (850, 300, 960, 360),
                                                                      6_000)
    results = _crop()(make_sample(events=_events(rng, bus, wing, _noise(rng, 14_000)),
                                  with_pose=False))
    x0, y0, side = results['crop_box']
    assert x0 <= 460 and x0 + side >= 960 and y0 <= 250 and y0 + side >= 410


def test_new_intrinsics_are_exact_down_to_the_voxel_cell(make_sample):
    rng = np.random.default_rng(4)
    # Probe points projecting to pixel centres; their events carry unique timestamps.
    pixels = np.array([[520, 260], [600, 333], [735, 405], [641, 300], [510, 399]])
    depth = rng.uniform(3, 12, len(pixels))
    points = (np.c_[pixels + 0.5, np.ones(len(pixels))] @ np.linalg.inv(CAM_K).T) * depth[:, None]
    events = _events(rng, _target(rng), _noise(rng, 14_000))
    probe_t = WINDOW_US[0] + 1 + np.arange(len(pixels))  # timestamps no other event has
    events['t'] = np.r_[probe_t, np.maximum(events['t'][len(pixels):], probe_t[-1] + 1)]
    events['x'][:len(pixels)], events['y'][:len(pixels)] = pixels.T
    results = _crop()(make_sample(events=events, with_pose=False))
    x0, y0, side = results['crop_box']
    np.testing.assert_allclose(_project(results['cam_K'], points),
                               _project(CAM_K, points) - [x0, y0], atol=1e-9)
    np.testing.assert_array_equal(results['cam_K'][:, :2], CAM_K[:, :2])  # focal, skew

    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=2, input_size=(96, 64)))
    for i, t in enumerate(probe_t):
        probe = {k: v[results['events']['t'] == t] for k, v in results['events'].items()}
        assert len(probe['t']) == 1
        single = voxel(dict(results, events=probe, cam_K=results['cam_K'].copy()))
        (cell,) = np.argwhere(single['inputs'].sum(0) > 0)  # (row, col) the event lands in
        u, v = _project(single['cam_K'], points[i:i + 1])[0]
        assert cell[1] <= u + 1e-9 < cell[1] + 1 and cell[0] <= v + 1e-9 < cell[0] + 1


def test_target_at_the_border_crops_past_the_sensor(make_sample):
    rng = np.random.default_rng(5)
    events = _events(rng, _target(rng, (0, 600, 120, 720), 8_000), _noise(rng, 14_000))
    results = _crop()(make_sample(events=events, with_pose=False))
    x0, y0, side = results['crop_box']
    assert x0 < 0 and y0 + side > 720 and results['crop_fallback'] is False
    out = results['events']
    assert out['x'].min() >= -x0 and out['y'].max() < 720 - y0  # shifted, nothing invented
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', input_size=(64, 64)))(results)
    assert voxel['inputs'].sum() == pytest.approx(len(out['t']), rel=1e-5)


@pytest.mark.parametrize('kind', ['empty', 'noise', 'hot_pixels'])
def test_window_without_target_falls_back_to_the_whole_sensor(make_sample, kind):
    rng = np.random.default_rng(6)
    parts = {'empty': [(np.zeros(0, int), np.zeros(0, int))],
             'noise': [_noise(rng, 30_000)],
             'hot_pixels': [_noise(rng, 14_000, hot_pixels=12)]}[kind]
    events = _events(rng, *parts)
    num_events = len(events['t'])
    pipeline = Compose([_crop(),
                        TRANSFORMS.build(dict(type='EventsToVoxelGrid', input_size=(64, 64))),
                        TRANSFORMS.build(dict(type='PackPoseInputs'))])
    results = _crop()(make_sample(events=events, with_pose=False))
    packed = pipeline(make_sample(events=_events(rng, *parts), with_pose=False))
    assert results['crop_fallback'] is True
    assert results['crop_box'] == (0, -280, 1280) and results['sensor_size'] == (1280, 1280)
    assert len(results['events']['t']) == num_events  # the whole sensor is in the crop
    np.testing.assert_allclose(results['cam_K'], CAM_K + [[0, 0, 0], [0, 0, 280], [0, 0, 0]])
    assert np.isfinite(results['cam_K']).all()
    assert packed['inputs'].shape == (10, 64, 64)
    assert packed['inputs'].sum().item() == pytest.approx(num_events, rel=1e-5)


def test_pure_noise_windows_find_no_target():
    """The cluster test: 3 of these windows hold a lone noise cell above the cell threshold."""
    rng = np.random.default_rng(11)
    for _ in range(200):
        x, y = _noise(rng, 5_000, (320, 180), hot_pixels=1)
        assert locate_target(x, y, (320, 180), 8) is None


def test_pipeline_packs_crop_box_and_scaled_intrinsics(make_sample):
    rng = np.random.default_rng(7)
    sample = make_sample(events=_events(rng, _target(rng), _noise(rng, 14_000)))
    gt_t = sample['gt_t'].copy()
    cropped = _crop()(dict(sample, events=dict(sample['events']), cam_K=sample['cam_K'].copy()))
    with DefaultScope.overwrite_default_scope('sparkpose'):
        pipeline = Compose([dict(type='CropToTarget'),
                            dict(type='EventsToVoxelGrid', num_bins=5, input_size=(128, 128)),
                            dict(type='PackPoseInputs')])
    packed = pipeline(sample)
    inputs, meta = packed['inputs'], packed['data_samples'].metainfo
    x0, y0, side = meta['crop_box']
    assert meta['crop_box'] == cropped['crop_box'] and side < 1280
    assert inputs.shape == (10, 128, 128) and meta['input_size'] == (128, 128)
    assert tuple(meta['sensor_size']) == (side, side)
    assert inputs.sum().item() == pytest.approx(len(cropped['events']['t']), rel=1e-5)
    shifted = CAM_K - [[0, 0, x0], [0, 0, y0], [0, 0, 0]]
    np.testing.assert_allclose(meta['cam_K'], np.diag([128 / side, 128 / side, 1]) @ shifted,
                               rtol=1e-12)
    np.testing.assert_allclose(packed['data_samples'].gt_t.numpy(), gt_t, rtol=1e-6)


def test_pack_without_crop_has_crop_box_none(make_sample):
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', input_size=(32, 32)))
    packed = TRANSFORMS.build(dict(type='PackPoseInputs'))(voxel(make_sample(100)))
    assert packed['data_samples'].metainfo['crop_box'] is None


def test_jitter_is_seeded_bounded_and_off_by_default(make_sample):
    rng = np.random.default_rng(8)
    events = _events(rng, _target(rng), _noise(rng, 14_000))

    def run(**cfg):
        sample = make_sample(events={k: v.copy() for k, v in events.items()}, with_pose=False)
        return _crop(**cfg)(sample)

    np.random.seed(0)
    position = np.random.get_state()[2]
    base_centre, base_side = _centre_and_side(run())
    assert np.random.get_state()[2] == position  # no draw without jitter
    assert _centre_and_side(run())[1] == base_side

    boxes = []
    for seed in range(40):
        np.random.seed(seed)
        boxes.append(run(shift_jitter=0.1, scale_jitter=0.15)['crop_box'])
    np.random.seed(3)
    assert run(shift_jitter=0.1, scale_jitter=0.15)['crop_box'] == boxes[3]
    sides = np.array([b[2] for b in boxes])
    centres = np.array([[b[0] + b[2] / 2, b[1] + b[2] / 2] for b in boxes])
    assert len(set(sides)) > 10 and len({tuple(c) for c in centres}) > 10
    assert np.all(sides >= 0.85 * (base_side - 1)) and np.all(sides <= 1.15 * base_side + 1)
    assert np.all(np.abs(centres - base_centre) <= 0.1 * sides[:, None] + 1)


def test_use_gt_centres_on_the_projected_body(make_sample):
    rng = np.random.default_rng(9)
    sample = make_sample(events=_events(rng, _noise(rng, 100)))
    sample['gt_t'] = np.array([0.4, -0.3, 6.0])
    results = _crop(use_gt=True, body_radius=1.0, scale=1.5)(sample)
    fx, fy = CAM_K[0, 0], CAM_K[1, 1]
    centre, side = _centre_and_side(results)
    assert side == int(np.ceil(2 * max(fx, fy) * 1.0 / 6.0 * 1.5))
    np.testing.assert_allclose(centre, _project(CAM_K, sample['gt_t'][None])[0], atol=0.5)
    assert results['crop_fallback'] is False  # a pure-noise window, but the pose is known
    # Without a pose (test files) the oracle falls back on the events.
    without = _crop(use_gt=True)(make_sample(events=_events(rng, _noise(rng, 100)),
                                             with_pose=False))
    assert without['crop_fallback'] is True


def test_busy_window_is_located_on_a_subsample_with_all_events_kept(make_sample):
    # 80k events (a full-sensor window): located on every 5th, within a pixel or two.
    rng = np.random.default_rng(4)
    events = _events(rng, _target(rng, num=70_000), _noise(rng, 10_000, hot_pixels=2))
    full = _crop(max_locate_events=None)(make_sample(events=dict(events), with_pose=False))
    fast = _crop()(make_sample(events=dict(events), with_pose=False))
    (centre, side), (fast_centre, fast_side) = _centre_and_side(full), _centre_and_side(fast)
    assert np.abs(fast_centre - centre).max() <= 2 and abs(fast_side / side - 1) <= 0.02
    assert len(fast['events']['x']) == len(full['events']['x']) > 70_000
    # A window under the bound is located on all its events: the same crop.
    small = _events(rng, _target(rng, num=8_000), _noise(rng, 2_000))
    assert (_crop(max_locate_events=10_000)(make_sample(events=dict(small)))['crop_box']
            == _crop(max_locate_events=None)(make_sample(events=dict(small)))['crop_box'])


def test_refuses_misplaced_or_out_of_sensor_samples(make_sample):
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', input_size=(32, 32)))
    with pytest.raises(ValueError, match=r'RT007\[50\] already has inputs'):
        _crop()(voxel(make_sample(100)))
    with pytest.raises(ValueError, match=r'RT007\[50\] already has crop_box'):
        _crop()(_crop()(make_sample(100)))
    sample = make_sample(100)
    sample['events']['x'][3] = 1280
    with pytest.raises(ValueError, match=r'RT007\[50\] has events outside the sensor'):
        _crop()(sample)
    with pytest.raises(ValueError, match=r'scale_jitter=1\.5'):
        _crop(scale_jitter=1.5)
    with pytest.raises(ValueError, match=r'max_locate_events=0'):
        _crop(max_locate_events=0)


@pytest.fixture(scope='module')
def simulated_windows():
    """The three 100 ms windows of a simulated 320x180 sequence with their label poses."""
    options = SequenceOptions(duration=0.3, resolution=(320, 180), max_tumble_rate=90)
    sequence = generate_sequence(0, 2, options)
    events, (rotations, translations) = sequence['events'], sequence['poses']
    K = np.asarray(camera_for_resolution(options.resolution)['cameraMatrix'])
    windows = []
    for i, label in enumerate(sequence['labels']):
        stamp = int(label['timestamp'])  # 100 µs ticks
        inside = (events['ts'] > stamp - 1000) & (events['ts'] <= stamp)
        windows.append(dict(
            seq_id=sequence['name'], label_index=i, window_us=((stamp - 1000) * 100, stamp * 100),
            events=dict(x=events['xs'][inside], y=events['ys'][inside],
                        t=events['ts'][inside] * 100, p=events['ps'][inside]),
            sensor_size=options.resolution, cam_K=K.copy(), gt_t=translations[i],
            rotation=rotations[i]))
    return windows


def test_simulated_target_is_centred_in_the_crop(simulated_windows):
    corners = proba2_like().corners
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', input_size=(64, 64)))
    for window in simulated_windows:
        K, rotation, t = window['cam_K'], window['rotation'], window['gt_t']
        results = _crop()(dict(window))
        x0, y0, side = results['crop_box']
        assert results['crop_fallback'] is False and side < 180
        centre = _project(K, t[None])[0]
        assert x0 <= centre[0] < x0 + side and y0 <= centre[1] < y0 + side
        assert np.abs(centre - [x0 + side / 2, y0 + side / 2]).max() <= 0.15 * side
        uv = _project(K, corners @ rotation.T + t)
        inside = (uv[:, 0] >= x0) & (uv[:, 0] < x0 + side) & (uv[:, 1] >= y0) & (
            uv[:, 1] < y0 + side)
        assert inside.mean() >= 0.9
        assert voxel(results)['inputs'].sum() > 0.5 * len(window['events']['t'])


def test_simulated_window_crop_survives_added_noise(simulated_windows):
    rng = np.random.default_rng(10)
    for window in simulated_windows:
        clean = _crop()(dict(window))
        x, y = (window['events'][k].astype(np.int64) for k in 'xy')
        extra = _noise(rng, int(len(x) * 0.3 / 0.7) + 1, (320, 180), hot_pixels=5)
        events = _events(rng, (x, y), extra, window_us=window['window_us'])
        noisy = _crop()(dict(window, events=events))
        (centre, side), (noisy_centre, noisy_side) = (_centre_and_side(clean),
                                                      _centre_and_side(noisy))
        assert np.abs(noisy_centre - centre).max() <= 3
        assert abs(noisy_side / side - 1) <= 0.1
