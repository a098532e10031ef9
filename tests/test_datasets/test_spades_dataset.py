import json
import pickle

import h5py
import numpy as np
import pytest
from torch.utils.data import DataLoader

from sparkpose.datasets.spades_format import SPADES_CAMERA
from sparkpose.registry import DATASETS
from sparkpose.simulation import camera_for_resolution, write_camera_json

CONTRACT_KEYS = {'seq_id', 'label_index', 'timestamp', 'timestamp_us', 'window_us', 'events',
                 'sensor_size', 'cam_K', 'gt_t', 'gt_q', 'num_events'}


def _build(root, **kwargs):
    kwargs.setdefault('split', 'train.txt')
    return DATASETS.build(dict(type='SPADESDataset', data_root=str(root), **kwargs))


def _as_list(batch):
    return batch


def test_length_and_label_stride(spades_root_factory):
    root = spades_root_factory(splits={'train': ['RT000', 'RT002'], 'val': ['RT001']})
    assert len(_build(root)) == 24
    assert len(_build(root, split='val.txt')) == 12
    strided = _build(root, label_stride=5)  # labels 0, 5, 10 of each sequence
    assert len(strided) == 6
    assert [strided[i]['label_index'] for i in range(6)] == [0, 5, 10] * 2
    by_name = _build(root, split='', sequences=['RT001', 'RT002'])
    assert [by_name[i]['seq_id'] for i in (0, 12)] == ['RT001', 'RT002']


@pytest.mark.parametrize('unit', ['100us', 'us'])
def test_sample_follows_data_contract(spades_root_factory, unit):
    root = spades_root_factory(time_unit=unit)
    dataset = _build(root, time_unit='auto')
    sample = dataset[12 + 4]  # RT001, label 4
    assert set(sample) == CONTRACT_KEYS | {'sample_idx'}
    assert sample['num_events'] == len(sample['events']['t'])
    tick = {'100us': 100, 'us': 1}[unit]
    with h5py.File(root / 'RT001.h5', 'r') as f:
        labels = f['labels/data'][()]
        t = f['events/ts'][()].astype(np.int64) * tick
        xs = f['events/xs'][()]
    assert sample['seq_id'] == 'RT001' and sample['label_index'] == 4
    assert sample['timestamp'] == labels['timestamp'][4] == 5 * 100_000 // tick
    assert sample['timestamp_us'] == 500_000 and sample['window_us'] == (400_000, 500_000)
    mask = (t > 400_000) & (t <= 500_000)
    np.testing.assert_array_equal(sample['events']['t'], t[mask])
    np.testing.assert_array_equal(sample['events']['x'], xs[mask])
    assert sample['events']['p'].dtype == np.uint8 and sample['events']['t'].dtype == np.int64
    assert sample['sensor_size'] == (1280, 720)
    np.testing.assert_array_equal(sample['cam_K'], SPADES_CAMERA['cameraMatrix'])
    assert sample['gt_t'].dtype == np.float64 and sample['gt_q'].shape == (4,)
    np.testing.assert_array_equal(sample['gt_t'], [labels[k][4] for k in ('Tx', 'Ty', 'Tz')])
    np.testing.assert_allclose(sample['gt_q'], [labels[k][4] for k in ('Qx', 'Qy', 'Qz', 'Qw')])
    assert dataset.metainfo['sensor_size'] == (1280, 720)


def test_test_files_have_no_gt_and_pipeline_runs(spades_root_factory):
    root = spades_root_factory(with_pose=False, time_unit='us')
    seen = []
    dataset = _build(root, test_mode=True, time_unit='us',
                     pipeline=[lambda r: seen.append(r['seq_id']) or dict(n=len(r['events']['t']),
                                                                            keys=set(r))])
    out = dataset[3]
    assert 'gt_t' not in out['keys'] and 'gt_q' not in out['keys'] and out['n'] > 0
    assert seen == ['RT000']


def test_camera_file_and_fallback(spades_root_factory, tmp_path):
    root = spades_root_factory(camera=False)
    np.testing.assert_array_equal(_build(root).cam_K, SPADES_CAMERA['cameraMatrix'])
    camera = dict(SPADES_CAMERA, cameraMatrix=[[1000, 0, 640], [0, 1000, 360], [0, 0, 1]])
    (root / 'camera.json').write_text(json.dumps(camera))
    assert _build(root)[0]['cam_K'][0, 0] == 1000
    (root / 'camera.json').write_text(json.dumps(dict(Nu=640, cameraMatrix=camera['cameraMatrix'])))
    with pytest.raises(ValueError, match=rf"{root}/camera.json: camera file lacks \['Nv'\]"):
        _build(root)
    (root / 'camera.json').write_text(json.dumps(dict(camera, Nu=640, Nv=480)))
    with pytest.raises(ValueError, match=r'RT000.h5: /events/xs has value \d+ at index \d+, '
                                         r'expected 0 <= x < 640'):
        _build(root)


def test_missing_split_or_sequence_names_root_and_name(spades_root_factory):
    root = spades_root_factory(splits={'train': ['RT000', 'RT007'], 'dup': ['RT000', 'RT000.h5']})
    with pytest.raises(FileNotFoundError,
                       match=rf"{root}: sequence 'RT007' listed in {root}/train.txt has no file"):
        _build(root)
    with pytest.raises(FileNotFoundError, match=rf'{root}: split file {root}/nope.txt not found'):
        _build(root, split='nope.txt')
    with pytest.raises(ValueError, match=r"sequence 'RT000' listed twice"):
        _build(root, split='dup.txt')
    with pytest.raises(ValueError, match='give either split .* not both'):
        _build(root, sequences=['RT000'])
    (root / 'empty.txt').write_text('# nothing\n\n')
    with pytest.raises(ValueError, match=rf'split file {root}/empty.txt lists no sequence'):
        _build(root, split='empty.txt')


def test_data_list_is_small_and_serialisation_modes_agree(spades_root_factory, tmp_path):
    root = spades_root_factory(events_per_label=3000)  # ~36k events per file
    serialised = _build(root, index_cache_dir=str(tmp_path / 'cache'))
    plain = _build(root, serialize_data=False, lazy_init=True)
    assert len(plain) == len(serialised) == 36  # len() runs full_init of the lazy one
    assert serialised.data_bytes.nbytes / len(serialised) < 400  # bytes per label, no events
    serialised[3]  # opens handles: they must not travel
    blob = pickle.dumps(serialised)
    assert len(blob) < 60_000  # the 3 files hold ~1.4 MB of events
    clone = pickle.loads(blob)  # what a spawned DataLoader worker receives
    for i in (0, 17, 35):
        a, b, c = serialised[i], plain[i], clone[i]
        np.testing.assert_array_equal(a['events']['t'], b['events']['t'])
        np.testing.assert_array_equal(a['events']['x'], c['events']['x'])
        np.testing.assert_array_equal(a['gt_q'], b['gt_q'])
    assert len(list((tmp_path / 'cache').glob('*.npz'))) == 3


def test_index_cache_defaults_to_user_cache_dir(spades_root_factory, tmp_path, monkeypatch):
    root = spades_root_factory(names=('RT000', 'RT001'))
    monkeypatch.setenv('SPARKPOSE_CACHE_DIR', str(tmp_path / 'user'))
    assert _build(root).index_cache_dir == str(tmp_path / 'user' / 'spades_index')
    monkeypatch.delenv('SPARKPOSE_CACHE_DIR')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert _build(root).index_cache_dir == str(tmp_path / 'xdg' / 'sparkpose' / 'spades_index')
    for cache in ('user', 'xdg/sparkpose'):
        assert sorted(p.name[:5] for p in (tmp_path / cache / 'spades_index').glob('*.npz')
                      ) == ['RT000', 'RT001']
    assert _build(root, index_cache_dir=None).index_cache_dir is None


@pytest.mark.parametrize('index_cache', [False, True])
def test_dataloader_workers_match_single_process(spades_root_factory, index_cache):
    root = spades_root_factory()
    dataset = _build(root, index_cache_dir='auto' if index_cache else None)
    dataset[5]  # the parent holds open handles when the workers fork
    reference = list(DataLoader(dataset, batch_size=5, collate_fn=_as_list))
    loader = DataLoader(dataset, batch_size=5, num_workers=2, persistent_workers=True,
                        collate_fn=_as_list)
    for _ in range(2):  # the second epoch reuses the persistent workers and their handles
        batches = list(loader)
        assert len(batches) == len(reference) == 8
        for got, want in zip(sum(batches, []), sum(reference, [])):
            assert (got['seq_id'], got['label_index']) == (want['seq_id'], want['label_index'])
            np.testing.assert_array_equal(got['events']['x'], want['events']['x'])
            np.testing.assert_array_equal(got['events']['t'], want['events']['t'])
            np.testing.assert_array_equal(got['gt_t'], want['gt_t'])


def test_real_pipeline_from_config_without_default_scope(spades_root_factory):
    # Pipeline types resolve in sparkpose's TRANSFORMS even outside a Runner (no scope set).
    root = spades_root_factory(names=('RT000',))
    dataset = _build(root, pipeline=[dict(type='EventsToVoxelGrid', num_bins=3,
                                          input_size=(64, 32)),
                                     dict(type='PackPoseInputs')])
    raw = _build(root)
    for i in (0, 7):
        packed, sample = dataset[i], raw[i]
        assert packed['inputs'].shape == (6, 32, 64)
        # The grid's total weight is the number of events in the window.
        assert float(packed['inputs'].sum()) == pytest.approx(len(sample['events']['t']))
        meta = packed['data_samples'].metainfo
        assert (meta['seq_id'], meta['label_index'], meta['timestamp_us']) == (
            'RT000', i, sample['timestamp_us'])
        np.testing.assert_allclose(packed['data_samples'].gt_t.numpy(), sample['gt_t'],
                                   rtol=1e-6)


def test_sequences_of_a_sub_folder_use_its_own_camera(spades_root_factory):
    # A 1280x720 set with a 320x180 part in a sub-folder, listed in the set's split file.
    root = spades_root_factory(names=('RT000', 'RT001'),
                               splits={'train': ['RT000', 'RT001', 'small/RT000']})
    small = spades_root_factory(names=('RT000',), root=root / 'small', sensor_size=(320, 180))
    write_camera_json(small, camera_for_resolution((320, 180)))
    dataset = _build(root)
    assert len(dataset) == 36
    assert list(dataset.sequences) == ['RT000', 'RT001', 'small/RT000']
    big, part = dataset[0], dataset[24 + 3]
    assert big['sensor_size'] == (1280, 720) and part['sensor_size'] == (320, 180)
    assert part['seq_id'] == 'small/RT000' and part['label_index'] == 3
    np.testing.assert_allclose(part['cam_K'], camera_for_resolution((320, 180))['cameraMatrix'])
    with h5py.File(small / 'RT000.h5', 'r') as f:
        assert part['events']['x'].max() < 320
        assert len(part['events']['x']) == np.count_nonzero(
            (f['events/ts'][()] > 3000) & (f['events/ts'][()] <= 4000))
    # Without a camera of its own a sub-folder is seen through the set's camera.
    (small / 'camera.json').unlink()
    assert _build(root, split='', sequences=['small/RT000'])[0]['sensor_size'] == (1280, 720)
