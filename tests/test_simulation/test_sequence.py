import numpy as np
import pytest

from sparkpose.simulation import (
    SequenceOptions,
    camera_for_resolution,
    frame_times,
    generate_sequence,
    random_trajectory,
    sequence,
)
from sparkpose.structures import proba2_like
from sparkpose.visualization import project_points


def test_camera_for_resolution_scales_intrinsics():
    camera = camera_for_resolution((320, 360))
    K = np.asarray(camera['cameraMatrix'])
    assert (camera['Nu'], camera['Nv']) == (320, 360)
    np.testing.assert_allclose(K, [[1258.6057531097028 / 4, 0, 160],
                                   [0, 1258.6057531097028 / 2, 180], [0, 0, 1]])


def test_frame_times_bound_pixel_motion():
    body = proba2_like()
    K = np.asarray(camera_for_resolution((1280, 720))['cameraMatrix'])
    trajectory = random_trajectory(np.random.default_rng(3), K, (1280, 720),
                                   body.bounding_radius, max_distance=5.0,
                                   max_tumble_rate=30.0)
    times = frame_times(body, trajectory, K, duration=0.5, max_pixel_motion=0.25)
    assert times[0] == 0 and times[-1] == pytest.approx(0.5) and np.all(np.diff(times) > 0)
    rotation, translation = trajectory.pose(times)
    uv = project_points(body.corners @ rotation.transpose(0, 2, 1) + translation[:, None], K)
    motion = np.linalg.norm(np.diff(uv, axis=0), axis=-1).max(axis=1)
    assert motion.max() <= 0.25 * 1.02
    assert len(times) > 150  # many more frames than the 50 base steps of 10 ms


def test_sequence_is_a_function_of_seed_and_index():
    options = SequenceOptions(duration=0.3, resolution=(320, 180))
    first = generate_sequence(5, 2, options)
    again = generate_sequence(5, 2, options)
    other = generate_sequence(5, 3, options)
    assert first['name'] == 'RT002'
    for key in ('xs', 'ys', 'ts', 'ps'):
        np.testing.assert_array_equal(first['events'][key], again['events'][key])
    np.testing.assert_array_equal(first['labels'], again['labels'])
    assert not np.array_equal(first['labels']['Tx'], other['labels']['Tx'])


def test_events_follow_the_body():
    """The projected target centre lies inside the 5-95 % box of its window's events."""
    options = SequenceOptions(duration=1.0)
    K = np.asarray(camera_for_resolution(options.resolution)['cameraMatrix'])
    for index in (0, 1):
        sequence = generate_sequence(0, index, options)
        events, labels = sequence['events'], sequence['labels']
        assert len(labels) == 10
        assert set(np.unique(events['ps'])) == {0, 1}
        windows = []
        for label in labels:
            stamp = label['timestamp']
            inside = (events['ts'] > stamp - 1000) & (events['ts'] <= stamp)
            x, y = events['xs'][inside] + 0.5, events['ys'][inside] + 0.5
            u, v = project_points(np.array([label['Tx'], label['Ty'], label['Tz']]), K)
            assert np.percentile(x, 5) <= u <= np.percentile(x, 95)
            assert np.percentile(y, 5) <= v <= np.percentile(y, 95)
            windows.append(inside.sum())
        # Bounds around the DESIGN target of 50k-150k events per 100 ms.
        assert 10_000 < np.median(windows) < 400_000


def test_invalid_options_are_rejected():
    with pytest.raises(ValueError, match='time_unit'):
        SequenceOptions(time_unit='ms')
    with pytest.raises(ValueError, match='duration'):
        SequenceOptions(duration=0.05)


def test_noise_free_events_lie_on_the_body():
    """Without noise, every event of a window lies in the body's box at the window's ends."""
    options = SequenceOptions(duration=0.6, resolution=(640, 360), leak_rate=0.0,
                              shot_noise_rate=0.0)
    K = np.asarray(camera_for_resolution(options.resolution)['cameraMatrix'])
    for index in (4, 6):
        sequence = generate_sequence(0, index, options)
        events, labels = sequence['events'], sequence['labels']
        rotation, translation = sequence['poses']
        corners = proba2_like().corners @ rotation.transpose(0, 2, 1) + translation[:, None]
        uv = project_points(corners, K)  # (labels, corners, 2)
        for i in range(1, len(labels)):
            inside = (events['ts'] > labels['timestamp'][i - 1]) & (
                events['ts'] <= labels['timestamp'][i])
            assert inside.sum() > 1000
            # 1 px of slack: a wrong pose convention (R for R^T) misses by 3 to 30 px.
            low = uv[i - 1:i + 1].min(axis=(0, 1)) - 1
            high = uv[i - 1:i + 1].max(axis=(0, 1)) + 1
            x, y = events['xs'][inside] + 0.5, events['ys'][inside] + 0.5
            assert np.all((x >= low[0]) & (x <= high[0]) & (y >= low[1]) & (y <= high[1]))


def test_event_statistics_stay_in_their_band():
    """The demo's settings (320x180, 30-120 deg/s): events per 100-ms window and the ON
    share stay within 15 % (median) and 0.02 of what the numpy generator made before the
    compiled kernels (median 4,492, ON 0.567 over these 40 windows)."""
    options = SequenceOptions(duration=1.0, resolution=(320, 180), min_tumble_rate=30.0,
                              max_tumble_rate=120.0)
    counts, on, total = [], 0, 0
    for index in range(4):
        sequence = generate_sequence(0, index, options)
        ts, stamps = sequence['events']['ts'], sequence['labels']['timestamp']
        counts.extend(np.searchsorted(ts, stamps, 'right')
                      - np.searchsorted(ts, stamps - 1000, 'right'))
        on, total = on + int(sequence['events']['ps'].sum()), total + len(ts)
    assert 0.85 * 4492 <= np.median(counts) <= 1.15 * 4492
    assert on / total == pytest.approx(0.567, abs=0.02)


def test_labels_start_at_the_first_full_window():
    """Label i closes (i * 100 ms, (i + 1) * 100 ms]: the shortest trajectory has one."""
    sequence = generate_sequence(0, 0, SequenceOptions(duration=0.1, resolution=(160, 90)))
    np.testing.assert_array_equal(sequence['labels']['timestamp'], [1000])
    ts = sequence['events']['ts']
    assert ts.max() <= 1000 and np.count_nonzero(ts > 0) > 100
    sequence = generate_sequence(0, 0, SequenceOptions(duration=0.35, resolution=(160, 90)))
    np.testing.assert_array_equal(sequence['labels']['timestamp'], [1000, 2000, 3000])


@pytest.mark.parametrize('ticks', [[7], [3, 3, 3], [-2, 5, -2, 0, 5, 1], 'random'])
def test_tick_order_is_the_stable_argsort(ticks):
    ticks = np.random.default_rng(0).integers(-50, 1000, 5000) if ticks == 'random' \
        else np.array(ticks)
    np.testing.assert_array_equal(sequence._tick_order(ticks),
                                  np.argsort(ticks, kind='stable'))
