import numpy as np
import pytest

from sparkpose.simulation import EventSimulator, lin_log


def _simulator(size=(64, 32), seed=0, **kwargs):
    kwargs = dict(dict(contrast_threshold=0.25, threshold_sigma=0.0, refractory_period=0.0,
                       leak_rate=0.0, shot_noise_rate=0.0), **kwargs)
    return EventSimulator(size, np.random.default_rng(seed), **kwargs)


def _edge_frame(width, height, edge):
    """Bright (0.6) left of column ``edge``, black right of it."""
    frame = np.zeros((height, width), np.float32)
    frame[:, :edge] = 0.6
    return frame


def test_lin_log_is_v2e_curve():
    values = lin_log(np.array([0.0, 10 / 255, 20 / 255, 100 / 255, 1.0]))
    np.testing.assert_allclose(values, [0, 10 * np.log(20) / 20, np.log(20), np.log(100),
                                        np.log(255)], rtol=1e-6)


def test_static_scene_gives_no_events():
    sim = _simulator()
    frame = _edge_frame(64, 32, 20)
    sim.reset(frame, (0, 0, 64, 32), 0.0)
    counts = [len(sim.step(frame, (0, 0, 64, 32), 0.01 * (i + 1))['t']) for i in range(5)]
    assert counts == [0] * 5


def test_moving_edge_fires_where_intensity_changes():
    width, height = 64, 32
    sim = _simulator((width, height))
    sim.reset(_edge_frame(width, height, 20), (0, 0, width, height), 0.0)
    forward = [sim.step(_edge_frame(width, height, 20 + k), (0, 0, width, height), 0.01 * k)
               for k in range(1, 11)]
    x = np.concatenate([e['x'] for e in forward])
    p = np.concatenate([e['p'] for e in forward])
    # Only the columns the edge swept (20..29) fire, all ON, each pixel floor(L / C) times.
    assert set(np.unique(x)) == set(range(20, 30)) and np.all(p == 1)
    per_pixel = int(np.floor(lin_log(np.float32(0.6)) / np.float32(0.25)))
    assert per_pixel == 20
    assert len(x) == 10 * height * per_pixel
    t = np.concatenate([e['t'] for e in forward])
    np.testing.assert_array_less(0.01 * (x - 20) - 1e-12, t)  # column c fires in its frame
    np.testing.assert_array_less(t, 0.01 * (x - 19) + 1e-12)
    back = sim.step(_edge_frame(width, height, 20), (0, 0, width, height), 0.2)
    assert np.all(back['p'] == 0) and set(np.unique(back['x'])) == set(range(20, 30))


def test_crossings_are_dated_by_linear_interpolation():
    sim = _simulator((1, 1))
    sim.reset(np.full((1, 1), 0.2, np.float32), (0, 0, 1, 1), 0.0)
    events = sim.step(np.full((1, 1), 0.9, np.float32), (0, 0, 1, 1), 1.0)
    rise = float(lin_log(np.float32(0.9)) - lin_log(np.float32(0.2)))
    k = np.arange(1, int(rise / 0.25) + 1)
    np.testing.assert_allclose(np.sort(events['t']), k * 0.25 / rise, rtol=1e-5)


def test_refractory_period_drops_crossings():
    refractory = 0.17
    sim = _simulator((1, 1), refractory_period=refractory)
    sim.reset(np.zeros((1, 1), np.float32), (0, 0, 1, 1), 0.0)
    t = np.sort(sim.step(np.full((1, 1), 0.9, np.float32), (0, 0, 1, 1), 1.0)['t'])
    # Reference: greedy dead time over the 0.25-spaced crossing levels of the ramp 0 -> L.
    crossings = np.arange(1, int(lin_log(np.float32(0.9)) / 0.25) + 1) * 0.25 / lin_log(0.9)
    kept, last = [], -np.inf
    for time in crossings:
        if time >= last + refractory:
            kept.append(time)
            last = time
    np.testing.assert_allclose(t, kept, rtol=1e-5)
    assert len(kept) < len(crossings)


def test_per_pixel_thresholds():
    sim = EventSimulator((1280, 720), np.random.default_rng(0), contrast_threshold=0.25,
                         threshold_sigma=0.03)
    on, off = sim.thresholds
    assert on.mean() == pytest.approx(0.25, abs=1e-3) and on.std() == pytest.approx(0.03, 1e-2)
    assert not np.array_equal(on, off)


def test_noise_rates_and_seeding():
    width, height, duration = 200, 100, 2.0
    noise = _simulator((width, height), leak_rate=0.5, shot_noise_rate=0.25).noise_events(
        0.0, duration)
    pixels = width * height
    leak = 0.5 * pixels * duration
    shot = 0.25 * pixels * duration
    assert len(noise['t']) == pytest.approx(leak + shot, rel=0.03)
    # Leak events are ON; shot noise is half ON, half OFF.
    assert (noise['p'] == 0).sum() == pytest.approx(shot / 2, rel=0.05)
    assert noise['t'].min() > 0 and noise['t'].max() <= duration
    assert noise['x'].max() < width and noise['y'].max() < height
    again = _simulator((width, height), leak_rate=0.5, shot_noise_rate=0.25).noise_events(
        0.0, duration)
    for key in noise:
        np.testing.assert_array_equal(noise[key], again[key])


def test_step_before_reset_is_an_error():
    with pytest.raises(RuntimeError, match='reset'):
        _simulator().step(np.zeros((1, 1), np.float32), (0, 0, 1, 1), 0.1)


def test_noise_in_consecutive_intervals_is_the_noise_of_their_union():
    def leak(cuts):
        sim = _simulator((50, 40), leak_rate=2.0)
        parts = [sim.noise_events(a, b) for a, b in zip(cuts[:-1], cuts[1:])]
        events = np.stack([np.concatenate([e[k] for e in parts]).astype(np.float64)
                           for k in ('t', 'x', 'y')])
        assert all(np.all((e['t'] > a) & (e['t'] <= b)) for e, a, b in
                   zip(parts, cuts[:-1], cuts[1:]))
        return events[:, np.lexsort(events[::-1])]

    whole = leak([0.0, 2.0])
    assert whole.shape[1] == pytest.approx(2.0 * 2000 * 2.0, rel=0.05)
    np.testing.assert_array_equal(leak([0.0, 0.3, 0.3, 1.25, 2.0]), whole)
