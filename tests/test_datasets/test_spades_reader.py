import os
import pickle
import re

import h5py
import numpy as np
import pytest
from numpy.lib.recfunctions import repack_fields

from sparkpose.datasets import spades_reader
from sparkpose.datasets.spades_reader import SPADESFormatError, SPADESSequence, read_labels
from sparkpose.simulation.spades_writer import make_labels


def _edit(path, fn):
    with h5py.File(path, 'a') as f:
        fn(f)
    return path


def _replace(key, data):
    def fn(f):
        del f[key]
        f[key] = data
    return fn


def _labels(path):
    with h5py.File(path, 'r') as f:
        return f['labels/data'][()]


def _events(path):
    with h5py.File(path, 'r') as f:
        return {key: f['events'][key][()] for key in ('xs', 'ys', 'ts', 'ps')}


# ---------------------------------------------------------------- validation errors


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f'{tmp_path}/RT404.h5: SPADES file')):
        SPADESSequence(tmp_path / 'RT404.h5')


@pytest.mark.parametrize('key', ['events', 'events/xs', 'events/ys', 'events/ts', 'events/ps',
                                 'labels/data'])
def test_missing_key(spades_file_factory, key):
    path = _edit(spades_file_factory(), lambda f: f.__delitem__(key))
    with pytest.raises(SPADESFormatError, match=rf'{path}: missing /{key} '):
        SPADESSequence(path)


@pytest.mark.parametrize('field', ['timestamp', 'filename', 'Qw', 'Tx'])
def test_missing_label_field(spades_file_factory, field):
    path = spades_file_factory()
    labels = _labels(path)
    kept = [name for name in labels.dtype.names if name != field]
    _edit(path, _replace('labels/data', repack_fields(labels[kept])))
    with pytest.raises(SPADESFormatError, match=rf"{path}: /labels/data .*lacks.*'{field}'"):
        SPADESSequence(path)


def test_non_integer_event_dtype(spades_file_factory):
    path = spades_file_factory()
    _edit(path, _replace('events/ts', _events(path)['ts'].astype(np.float64)))
    with pytest.raises(SPADESFormatError, match=rf'{path}: /events/ts has dtype float64'):
        SPADESSequence(path)


def test_unequal_lengths(spades_file_factory):
    path = spades_file_factory()
    _edit(path, _replace('events/ps', _events(path)['ps'][:-3]))
    with pytest.raises(SPADESFormatError, match=rf'{path}: /events datasets differ in length'):
        SPADESSequence(path)


@pytest.mark.parametrize('chunk_events', [1 << 21, 100, 57])
def test_unsorted_ts_names_first_decrease(spades_file_factory, chunk_events):
    # Index 57 is the first element of a chunk for chunk_events=57: the cross-chunk case.
    path = spades_file_factory()
    ts = _events(path)['ts']
    ts[57] = ts[56] - 1
    ts[300] = ts[299] - 1
    _edit(path, _replace('events/ts', ts))
    with pytest.raises(SPADESFormatError,
                       match=rf'{path}: /events/ts is not sorted \(first decrease at index 57:'):
        SPADESSequence(path, chunk_events=chunk_events)


@pytest.mark.parametrize('key,value,sensor', [('xs', 1280, (1280, 720)), ('ys', 720, (1280, 720)),
                                              ('xs', 640, (640, 480)), ('ps', 2, (1280, 720))])
def test_values_outside_sensor_or_polarity(spades_file_factory, key, value, sensor):
    path = spades_file_factory()
    events = _events(path)
    for name, limit in zip(('xs', 'ys'), sensor):
        _edit(path, _replace(f'events/{name}', np.minimum(events[name], limit - 1)))
    planted = _events(path)[key]
    planted[123] = value
    _edit(path, _replace(f'events/{key}', planted))
    with pytest.raises(SPADESFormatError,
                       match=rf'{path}: /events/{key} has value {value} at index 123'):
        SPADESSequence(path, sensor_size=sensor, chunk_events=100)


@pytest.mark.parametrize('value', [np.nan, np.inf])
def test_non_finite_label(spades_file_factory, value):
    path = spades_file_factory()
    labels = _labels(path)
    labels['Tz'][3] = value
    _edit(path, _replace('labels/data', labels))
    with pytest.raises(SPADESFormatError, match=rf'{path}: /labels/data row 3 field Tz is {value}'):
        SPADESSequence(path)


def test_label_timestamps_not_increasing(spades_file_factory):
    path = spades_file_factory()
    labels = _labels(path)
    labels['timestamp'][5] = labels['timestamp'][4]
    _edit(path, _replace('labels/data', labels))
    with pytest.raises(SPADESFormatError,
                       match=rf'{path}: /labels/data timestamps are not increasing at row 5'):
        SPADESSequence(path, time_unit='100us')


def test_non_unit_quaternion(spades_file_factory):
    path = spades_file_factory()
    labels = _labels(path)
    for name in ('Qx', 'Qy', 'Qz', 'Qw'):
        labels[name][2] *= 1.1
    _edit(path, _replace('labels/data', labels))
    with pytest.raises(SPADESFormatError, match=rf'{path}: /labels/data row 2 quaternion .* 1\.1'):
        SPADESSequence(path)
    SPADESSequence(path, quat_tol=0.2)  # within a looser tolerance it is accepted


def test_read_labels_validates_labels_without_scanning_events(spades_file_factory):
    path = spades_file_factory()
    ts = _events(path)['ts']
    ts[20] = ts[19] - 1  # only a full scan would see this
    _edit(path, _replace('events/ts', ts))
    labels = read_labels(path)
    assert len(labels) == 12 and labels['Tz'].min() >= 3
    labels['Qw'][7] = np.nan
    _edit(path, _replace('labels/data', labels))
    with pytest.raises(SPADESFormatError, match=rf'{path}: /labels/data row 7 field Qw is nan'):
        read_labels(path)


def test_test_file_without_poses_is_valid(spades_file_factory):
    seq = SPADESSequence(spades_file_factory(with_pose=False))
    assert not seq.has_pose and seq.translations is None and seq.quaternions is None
    assert len(seq) == 12


def test_poses_read_renormalised_and_canonical(spades_file_factory):
    path = spades_file_factory()
    labels = _labels(path)
    for name in ('Qx', 'Qy', 'Qz', 'Qw'):
        labels[name][0] *= -1.0005  # same rotation, w < 0, slightly off unit norm
    _edit(path, _replace('labels/data', labels))
    seq = SPADESSequence(path)
    raw = np.stack([labels[n] for n in ('Qx', 'Qy', 'Qz', 'Qw')], 1)
    np.testing.assert_allclose(seq.quaternions[0], -raw[0] / np.linalg.norm(raw[0]))
    np.testing.assert_allclose(seq.quaternions[1:], raw[1:], atol=1e-12)
    np.testing.assert_array_equal(seq.translations,
                                  np.stack([labels[n] for n in ('Tx', 'Ty', 'Tz')], 1))


# ---------------------------------------------------------------- timestamp unit


@pytest.mark.parametrize('unit,tick_us', [('100us', 100), ('us', 1)])
def test_unit_detected_from_label_spacing(spades_file_factory, unit, tick_us):
    path = spades_file_factory(time_unit=unit)
    seq = SPADESSequence(path)
    assert seq.time_unit == unit and seq.tick_us == tick_us
    np.testing.assert_array_equal(seq.timestamps_us, 100_000 * np.arange(1, 13))
    # 100 ms windows hold one label period of events (~300 here), not 1/100 or 100x of it.
    counts = np.diff(seq.event_slices, axis=1)[:, 0]
    assert 200 < counts[1:].mean() < 400
    assert SPADESSequence(path, time_unit=unit).time_unit == unit


@pytest.mark.parametrize('unit,other', [('100us', 'us'), ('us', '100us')])
def test_explicit_unit_contradicting_spacing_is_refused(spades_file_factory, unit, other):
    path = spades_file_factory(time_unit=unit)
    with pytest.raises(SPADESFormatError, match=rf"{path}: time_unit '{other}' contradicts the "
                                                rf"label spacing .*in '{unit}' ticks"):
        SPADESSequence(path, time_unit=other)


def _ambiguous_labels(name='RT000', n=12, spacing=5000):
    labels = make_labels(name, spacing * np.arange(1, n + 1), None, None)
    return labels


@pytest.mark.parametrize('num_labels,spacing,why', [(12, 5000, 'median label spacing is 5000'),
                                                    (1, 1000, 'it has 1 label')])
def test_auto_refuses_when_unit_unknown(spades_file_factory, num_labels, spacing, why):
    path = spades_file_factory(labels=_ambiguous_labels(n=num_labels, spacing=spacing))
    with pytest.raises(SPADESFormatError, match=rf"{path}: cannot tell the timestamp unit "
                                                rf"\({why}.*set time_unit='100us'"):
        SPADESSequence(path)
    assert SPADESSequence(path, time_unit='us').tick_us == 1  # explicit unit is taken


@pytest.mark.parametrize('where', ['/', 'events'])
def test_unit_from_file_attribute(spades_file_factory, where):
    path = spades_file_factory(labels=_ambiguous_labels())
    _edit(path, lambda f: f[where].attrs.__setitem__('time_unit', 'us'))
    assert SPADESSequence(path).time_unit == 'us'
    with pytest.raises(SPADESFormatError,
                       match=rf"{path}: time_unit='100us' contradicts the file attribute"):
        SPADESSequence(path, time_unit='100us')


def test_bad_or_conflicting_attributes(spades_file_factory):
    path = spades_file_factory(attrs={'time_unit': 'ms'})
    with pytest.raises(SPADESFormatError, match=rf"{path}: attribute time_unit='ms' of / "):
        SPADESSequence(path)
    _edit(path, lambda f: (f.attrs.__setitem__('time_unit', b'100us'),
                           f['events'].attrs.__setitem__('time_unit', 'us')))
    with pytest.raises(SPADESFormatError, match=rf'{path}: time_unit attributes disagree'):
        SPADESSequence(path)
    with pytest.raises(ValueError, match=r"time_unit='s'; expected 'auto', '100us' or 'us'"):
        SPADESSequence(path, time_unit='s')


# ---------------------------------------------------------------- windows


def _expected_end(t_us, anchor, length):
    return {'end': t_us, 'center': t_us - length // 2 + length, 'start': t_us + length}[anchor]


@pytest.mark.parametrize('unit', ['100us', 'us'])
@pytest.mark.parametrize('anchor', ['end', 'center', 'start'])
@pytest.mark.parametrize('window_ms', [100.0, 37.5])
def test_windows_equal_brute_force_mask(spades_file_factory, unit, anchor, window_ms):
    path = spades_file_factory(time_unit=unit, seed=3)
    raw = _events(path)
    t = raw['ts'].astype(np.int64) * {'100us': 100, 'us': 1}[unit]
    seq = SPADESSequence(path, window_ms=window_ms, anchor=anchor, chunk_events=97)
    length = round(window_ms * 1000)
    on_boundary = 0
    for i, t_label in enumerate(seq.timestamps_us):
        t_end = _expected_end(int(t_label), anchor, length)
        assert tuple(seq.window_us[i]) == (t_end - length, t_end)
        mask = (t > t_end - length) & (t <= t_end)
        on_boundary += np.count_nonzero(t == t_end) + np.count_nonzero(t == t_end - length)
        window = seq.read_window(i)
        assert window['t'].dtype == np.int64 and window['p'].dtype == np.uint8
        assert window['x'].dtype == window['y'].dtype == np.uint16  # as stored
        np.testing.assert_array_equal(window['t'], t[mask])
        for key, raw_key in (('x', 'xs'), ('y', 'ys'), ('p', 'ps')):
            np.testing.assert_array_equal(window[key], raw[raw_key][mask])
    if window_ms == 100.0 and anchor != 'center':
        assert on_boundary > 0  # the half-open boundaries were exercised


def test_empty_windows_return_zero_length_arrays(spades_file_factory):
    events = dict(xs=[5, 6], ys=[7, 8], ts=[5500, 5600], ps=[1, 0])  # only in label 5's window
    seq = SPADESSequence(spades_file_factory(events=events))
    sizes = [len(seq.read_window(i)['t']) for i in range(len(seq))]
    assert sizes == [0] * 5 + [2] + [0] * 6
    empty = seq.read_window(0)
    assert {k: (v.shape, v.dtype) for k, v in empty.items()} == {
        'x': ((0,), np.uint16), 'y': ((0,), np.uint16), 't': ((0,), np.int64),
        'p': ((0,), np.uint8)}  # pixels in the file's dtype, as for non-empty windows
    np.testing.assert_array_equal(seq.read_window(5)['t'], [550_000, 560_000])
    no_events = SPADESSequence(spades_file_factory(
        'RT001', events={k: np.zeros(0, int) for k in ('xs', 'ys', 'ts', 'ps')}))
    assert no_events.num_events == 0 and len(no_events.read_window(3)['x']) == 0
    with pytest.raises(IndexError, match=r'event range \[1, 3\) is outside \[0, 2\]'):
        seq.read_events(1, 3)


def test_sequence_pickles_without_events(spades_file_factory):
    path = spades_file_factory(events_per_label=5000)
    seq = SPADESSequence(path)
    seq.read_window(4)  # opens a handle; it must not travel
    blob = pickle.dumps(seq)
    assert seq.num_events == 60_000 and len(blob) < 8_000  # events alone are ~780 kB
    clone = pickle.loads(blob)
    np.testing.assert_array_equal(clone.read_window(4)['t'], seq.read_window(4)['t'])


# ---------------------------------------------------------------- index cache


def test_index_cache_reused_and_invalidated(spades_file_factory, tmp_path, monkeypatch):
    path = spades_file_factory()
    cache = tmp_path / 'cache'
    first = SPADESSequence(path, cache_dir=cache)
    assert len(list(cache.glob('RT000-*.npz'))) == 1

    def no_scan(*args, **kwargs):
        raise AssertionError('scan_events called although the cache is valid')

    with monkeypatch.context() as m:
        m.setattr(spades_reader, 'scan_events', no_scan)
        cached = SPADESSequence(path, cache_dir=cache)
        np.testing.assert_array_equal(cached.event_slices, first.event_slices)
        with pytest.raises(AssertionError, match='scan_events called'):
            SPADESSequence(path, cache_dir=cache, window_ms=50)  # other windows: other key
    # A rewritten file (new mtime) with a decrease in ts is scanned, not trusted.
    ts = _events(path)['ts']
    ts[10] = ts[9] - 1
    _edit(path, _replace('events/ts', ts))
    os.utime(path, ns=(1, 1))
    with pytest.raises(SPADESFormatError, match='first decrease at index 10'):
        SPADESSequence(path, cache_dir=cache)
