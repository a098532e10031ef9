"""RandomPolaritySwap and RandomEventDensity on the raw events."""
import numpy as np
import pytest

from sparkpose.registry import TRANSFORMS


def test_polarity_swap_swaps_channel_halves_of_the_grid(make_sample):
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=5))
    swap = TRANSFORMS.build(dict(type='RandomPolaritySwap', prob=1.0))
    plain = voxel(make_sample(3000, seed=1))['inputs']
    swapped_sample = swap(make_sample(3000, seed=1))
    assert swapped_sample['events']['p'].dtype == np.uint8
    swapped = voxel(swapped_sample)['inputs']
    assert plain[:5].sum() != pytest.approx(plain[5:].sum())
    np.testing.assert_array_equal(swapped, np.concatenate([plain[5:], plain[:5]]))


def test_polarity_swap_prob_zero_leaves_events(make_sample):
    sample = make_sample(100)
    p = sample['events']['p'].copy()
    TRANSFORMS.build(dict(type='RandomPolaritySwap', prob=0.0))(sample)
    np.testing.assert_array_equal(sample['events']['p'], p)


def _density(**cfg):
    return TRANSFORMS.build(dict(type='RandomEventDensity', prob=1.0, **cfg))


@pytest.mark.parametrize('seed', range(5))
def test_density_keeps_events_sorted_inside_sensor_and_window(make_sample, seed):
    np.random.seed(seed)
    sample = make_sample(5000, seed=seed)
    t_start, t_end = sample['window_us']
    events = _density(keep_fraction=(0.2, 0.6), noise_fraction=(0.5, 1.0))(sample)['events']
    assert len({len(v) for v in events.values()}) == 1
    assert (np.diff(events['t']) >= 0).all()
    assert events['t'].min() > t_start and events['t'].max() <= t_end
    assert events['x'].max() < 1280 and events['y'].max() < 720
    assert set(np.unique(events['p']).tolist()) <= {0, 1}
    assert {k: v.dtype for k, v in events.items()} == {
        'x': np.uint16, 'y': np.uint16, 't': np.int64, 'p': np.uint8}


@pytest.mark.parametrize('keep,noise', [((0.25, 0.5), (0.0, 0.0)), ((0.125, 0.125), (0.0, 0.0)),
                                        ((1.0, 1.0), (0.1, 0.2)), ((0.5, 1.0), (0.3, 0.3)),
                                        ((2.0, 2.0), (0.0, 0.0)), ((1.5, 3.0), (0.1, 0.1))])
def test_density_changes_count_within_configured_range(make_sample, keep, noise):
    n = 20_000
    np.random.seed(7)
    for seed in range(8):
        count = len(_density(keep_fraction=keep, noise_fraction=noise)(
            make_sample(n, seed=seed))['events']['t'])
        # Binomial thinning: allow five standard deviations around the range's ends.
        slack = 5 * np.sqrt(n * 0.25)
        assert keep[0] * n * (1 + noise[0]) - slack <= count
        assert count <= keep[1] * n * (1 + noise[1]) + slack


def test_density_without_noise_keeps_an_ordered_subset(make_sample):
    np.random.seed(3)
    sample = make_sample(4000, seed=3)
    # Make every event identifiable by its time so the subset check is exact.
    sample['events']['t'] = np.arange(5_000_001, 5_004_001)
    original = {k: v.copy() for k, v in sample['events'].items()}
    events = _density(keep_fraction=(0.3, 0.3), noise_fraction=(0.0, 0.0))(sample)['events']
    index = events['t'] - 5_000_001
    assert (np.diff(index) > 0).all()
    for key in 'xyp':
        np.testing.assert_array_equal(events[key], original[key][index])
    assert abs(len(index) - 1200) < 5 * np.sqrt(4000 * 0.21)


def test_density_above_one_repeats_every_event_in_place(make_sample):
    np.random.seed(5)
    sample = make_sample(3000, seed=5)
    sample['events']['t'] = np.arange(5_000_001, 5_003_001)
    original = {k: v.copy() for k, v in sample['events'].items()}
    events = _density(keep_fraction=(2.5, 2.5), noise_fraction=(0.0, 0.0))(sample)['events']
    copies = np.bincount(events['t'] - 5_000_001, minlength=3000)
    # Each event twice, half of them three times; order and attributes kept.
    assert set(np.unique(copies).tolist()) == {2, 3}
    assert abs((copies == 3).mean() - 0.5) < 5 * np.sqrt(0.25 / 3000)
    assert (np.diff(events['t']) >= 0).all()
    for key in 'xyp':
        np.testing.assert_array_equal(events[key], np.repeat(original[key], copies))


def test_density_on_empty_window(make_sample):
    events = _density(noise_fraction=(0.5, 1.0))(make_sample(0))['events']
    assert all(len(v) == 0 for v in events.values())


def test_density_is_reproducible_under_numpy_seed(make_sample):
    runs = []
    for _ in range(2):
        np.random.seed(11)
        runs.append(_density(noise_fraction=(0.1, 0.2))(make_sample(2000))['events'])
    for key in 'xytp':
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


@pytest.mark.parametrize('cfg', [dict(keep_fraction=(0.0, 0.5)), dict(keep_fraction=(0.6, 0.5)),
                                 dict(keep_fraction=(0.5,)), dict(noise_fraction=(-0.1, 0))])
def test_density_bad_config_raises(cfg):
    with pytest.raises(ValueError, match='RandomEventDensity'):
        _density(**cfg)


@pytest.mark.parametrize('type_', ['RandomPolaritySwap', 'RandomEventDensity'])
def test_event_augmentations_refuse_samples_with_inputs(make_sample, type_):
    results = TRANSFORMS.build(dict(type='EventsToVoxelGrid'))(make_sample(10))
    with pytest.raises(ValueError, match=f'{type_} works on .events.'):
        TRANSFORMS.build(dict(type=type_, prob=0.0))(results)
