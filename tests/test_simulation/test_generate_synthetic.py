"""The data-set generator CLI, called in-process and read back with plain h5py."""
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

EVENT_KEYS = ('xs', 'ys', 'ts', 'ps')
POSE_FIELDS = ['Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw']


@pytest.fixture(scope='module')
def generate_synthetic(load_tool):
    return load_tool('dataset_converters/generate_synthetic.py')


def _read(path):
    with h5py.File(path, 'r') as f:
        keys = sorted(f.keys()), sorted(f['events'].keys()), sorted(f['labels'].keys())
        events = {k: f['events'][k][()] for k in EVENT_KEYS}
        labels = f['labels']['data'][()]
    return keys, events, labels


@pytest.fixture(scope='module')
def dataset(generate_synthetic, tmp_path_factory):
    out = tmp_path_factory.mktemp('synthetic')
    paths = generate_synthetic.main(['--out', str(out), '--num-sequences', '3',
                                     '--duration', '0.5', '--seed', '11'])
    return out, paths


def test_files_have_the_spades_layout(dataset):
    out, paths = dataset
    assert [p.name for p in paths] == ['RT000.h5', 'RT001.h5', 'RT002.h5']
    for path in paths:
        keys, events, labels = _read(path)
        assert keys == (['events', 'labels'], sorted(EVENT_KEYS), ['data'])
        assert labels.dtype.names == ('filename', *POSE_FIELDS, 'timestamp')
        for key in EVENT_KEYS:
            assert np.issubdtype(events[key].dtype, np.integer), key
        assert len({len(v) for v in events.values()}) == 1 and len(events['ts']) > 10_000
        assert np.all(np.diff(events['ts']) >= 0)
        assert events['xs'].max() < 1280 and events['ys'].max() < 720
        assert set(np.unique(events['ps'])) == {0, 1}
        # 10 Hz labels in 100 µs ticks; every label has a full 100 ms of events before it.
        np.testing.assert_array_equal(labels['timestamp'], [1000, 2000, 3000, 4000, 5000])
        assert labels['filename'][0] == f'img000_{path.stem}.png'.encode()
        quat = np.stack([labels[k] for k in ('Qx', 'Qy', 'Qz', 'Qw')], axis=1)
        np.testing.assert_allclose(np.linalg.norm(quat, axis=1), 1, atol=1e-9)
        assert np.all(quat[:, 3] >= 0)
        assert np.all((labels['Tz'] > 3) & (labels['Tz'] < 12))


def test_camera_and_splits(dataset):
    out, _ = dataset
    camera = json.loads((out / 'camera.json').read_text())
    assert camera['Nu'] == 1280 and camera['cameraMatrix'][0][2] == 640
    splits = {s: (out / f'{s}.txt').read_text().split() for s in ('train', 'val', 'test')}
    assert splits == {'train': ['RT000'], 'val': ['RT001'], 'test': ['RT002']}


def test_same_seed_same_data_any_workers(generate_synthetic, dataset, tmp_path):
    out, _ = dataset
    # Generate RT001 and RT002 alone, in two processes: identical to the first run.
    paths = generate_synthetic.main(['--out', str(tmp_path / 'again'), '--num-sequences', '2',
                                     '--first-index', '1', '--duration', '0.5', '--seed', '11',
                                     '--workers', '2'])
    for path in paths:
        _, events, labels = _read(path)
        _, reference, reference_labels = _read(out / path.name)
        for key in EVENT_KEYS:
            np.testing.assert_array_equal(events[key], reference[key])
        np.testing.assert_array_equal(labels, reference_labels)
        assert path.read_bytes() == (out / path.name).read_bytes()  # the files, byte for byte


def test_different_seed_different_data(generate_synthetic, dataset, tmp_path):
    out, _ = dataset
    (path,) = generate_synthetic.main(['--out', str(tmp_path), '--num-sequences', '1',
                                       '--duration', '0.5', '--seed', '12'])
    _, events, labels = _read(path)
    _, reference, reference_labels = _read(out / 'RT000.h5')
    assert len(events['ts']) != len(reference['ts'])
    assert not np.allclose(labels['Tx'], reference_labels['Tx'])


def test_test_like_files_without_poses(generate_synthetic, tmp_path):
    paths = generate_synthetic.main([
        '--out', str(tmp_path), '--num-sequences', '2', '--first-index', '901',
        '--duration', '0.3', '--no-poses', '--time-unit', 'us', '--resolution', '320x180'])
    assert [p.name for p in paths] == ['RT901.h5', 'RT902.h5']
    for path in paths:
        _, events, labels = _read(path)
        assert labels.dtype.names == ('filename', 'timestamp')
        np.testing.assert_array_equal(labels['timestamp'], [100_000, 200_000, 300_000])
        assert events['xs'].max() < 320 and events['ys'].max() < 180
        assert events['ts'].max() <= 300_000 and np.all(np.diff(events['ts']) >= 0)
    assert (tmp_path / 'test.txt').read_text().split() == ['RT901', 'RT902']
    assert not (tmp_path / 'train.txt').exists()
    camera = json.loads((tmp_path / 'camera.json').read_text())
    np.testing.assert_allclose(camera['cameraMatrix'],
                               [[1258.6057531097028 / 4, 0, 160],
                                [0, 1258.6057531097028 / 4, 90], [0, 0, 1]])


@pytest.mark.parametrize('num, fractions, expected', [
    (10, [0.8, 0.1, 0.1], [8, 1, 1]),
    (3, [0.8, 0.1, 0.1], [1, 1, 1]),
    (12, [0.8, 0.1, 0.1], [10, 1, 1]),
    (5, [1, 0, 0], [5, 0, 0]),
])
def test_split_counts(generate_synthetic, num, fractions, expected):
    assert generate_synthetic.split_counts(num, fractions) == expected


def test_bad_resolution_is_rejected(generate_synthetic, tmp_path, capsys):
    with pytest.raises(SystemExit):
        generate_synthetic.main(['--out', str(tmp_path), '--resolution', '1280by720'])
    assert 'expected WxH' in capsys.readouterr().err


def test_presets_set_defaults_that_flags_override(generate_synthetic, tmp_path):
    demo = generate_synthetic.parse_args(['--out', str(tmp_path), '--preset', 'demo'])
    # Exactly these flags (the demo had 800, then 1,600 trajectories before).
    flags = generate_synthetic.parse_args([
        '--out', str(tmp_path), '--num-sequences', '2400', '--duration', '1',
        '--resolution', '320x180', '--min-tumble-rate', '30', '--max-tumble-rate', '120'])
    assert vars(demo) == dict(vars(flags), preset='demo')
    spades = generate_synthetic.parse_args(['--out', str(tmp_path), '--preset', 'spades',
                                            '--num-sequences', '2', '--seed', '3'])
    assert (spades.num_sequences, spades.duration, spades.resolution) == (2, 60.0, (1280, 720))
    assert spades.seed == 3 and spades.split == [0.8, 0.1, 0.1]
    assert generate_synthetic.split_counts(300, spades.split) == [240, 30, 30]
    makefile = Path(__file__).parents[2] / 'Makefile'
    assert 'DEMO_DATA_ARGS := --preset demo --seed 0' in makefile.read_text()
    assert 'DEMO_FULL_SENSOR_ARGS := --preset demo-full-sensor --seed 1' in makefile.read_text()
    full = generate_synthetic.parse_args(['--out', str(tmp_path), '--preset',
                                          'demo-full-sensor'])
    assert (full.resolution, full.min_tumble_rate, full.max_tumble_rate) == ((1280, 720), 2.5,
                                                                           10.0)


def test_simulator_flags_reach_the_events(generate_synthetic, tmp_path):
    common = ['--num-sequences', '1', '--duration', '0.3', '--resolution', '320x180',
              '--seed', '4', '--split', '1', '0', '0']
    counts = {}
    for name, flags in [('plain', []), ('low', ['--contrast-threshold', '0.1', '0.15']),
                        ('noisy', ['--leak-rate', '50', '--shot-noise-rate', '25'])]:
        path = generate_synthetic.main(['--out', str(tmp_path / name), *common, *flags])[0]
        counts[name] = len(_read(path)[1]['ts'])
    # Half the thresholds: ~1.4x the events here; 500x the noise rates: ~1,300 more events.
    assert counts['low'] > 1.25 * counts['plain']
    assert counts['noisy'] > counts['plain'] + 800


def test_include_lists_a_sub_folders_set_in_the_splits(generate_synthetic, tmp_path):
    generate_synthetic.main(['--out', str(tmp_path / 'full'), '--num-sequences', '2',
                             '--duration', '0.2', '--split', '1', '1', '0'])
    generate_synthetic.main(['--out', str(tmp_path), '--num-sequences', '2', '--duration',
                             '0.2', '--resolution', '320x180', '--split', '1', '0', '1',
                             '--include', 'full'])
    lists = {s: (tmp_path / f'{s}.txt').read_text().split() for s in ('train', 'val', 'test')}
    assert lists == {'train': ['RT000', 'full/RT000'], 'val': ['full/RT001'], 'test': ['RT001']}
    assert json.loads((tmp_path / 'full' / 'camera.json').read_text())['Nu'] == 1280
    assert json.loads((tmp_path / 'camera.json').read_text())['Nu'] == 320
    with pytest.raises(SystemExit, match='has no train.txt'):
        generate_synthetic.main(['--out', str(tmp_path / 'b'), '--num-sequences', '1',
                                 '--duration', '0.2', '--include', 'missing'])


def test_if_changed_keeps_a_set_made_with_the_same_options_only(generate_synthetic, tmp_path,
                                                                 capsys):
    options = ['--out', str(tmp_path), '--num-sequences', '2', '--duration', '0.2',
               '--seed', '4', '--if-changed']
    assert len(generate_synthetic.main(options)) == 2
    manifest = json.loads((tmp_path / 'generator.json').read_text())
    assert manifest['options']['num_sequences'] == 2
    assert sorted(sum(manifest['splits'].values(), [])) == ['RT000', 'RT001']
    # Same options (the worker count is not one): nothing is written again.
    before = (tmp_path / 'RT000.h5').stat().st_mtime_ns
    assert generate_synthetic.main(options + ['--workers', '2']) == []
    assert 'up to date' in capsys.readouterr().out
    assert (tmp_path / 'RT000.h5').stat().st_mtime_ns == before
    # A bigger set (as when a preset grows) or another seed is made again.
    assert len(generate_synthetic.main(options[:3] + ['3'] + options[4:])) == 3
    assert json.loads((tmp_path / 'generator.json').read_text())['options']['num_sequences'] == 3
    assert len(generate_synthetic.main(options[:-2] + ['5', '--if-changed'])) == 2
    # A set without a manifest (made by an older generator, or interrupted) is made again.
    (tmp_path / 'generator.json').unlink()
    assert len(generate_synthetic.main(options)) == 2
