import h5py
import numpy as np
import pytest

from sparkpose.datasets import SPADESSequence
from sparkpose.datasets.spades_format import EVENT_DTYPES
from sparkpose.simulation import SpadesFileWriter, make_labels, write_spades_file


def test_compressed_events_read_back_identically(tmp_path):
    rng = np.random.default_rng(0)
    events = dict(xs=rng.integers(0, 1280, 50_000), ys=rng.integers(0, 720, 50_000),
                  ts=np.sort(rng.integers(0, 20_000, 50_000)), ps=rng.integers(0, 2, 50_000))
    labels = make_labels('RT000', np.arange(1, 21) * 1000, None, None)
    write_spades_file(tmp_path / 'plain.h5', events, labels)
    write_spades_file(tmp_path / 'gzip.h5', events, labels, compression='gzip')
    with h5py.File(tmp_path / 'plain.h5') as plain, h5py.File(tmp_path / 'gzip.h5') as packed:
        assert packed['events/ts'].compression == 'gzip' and plain['events/ts'].compression is None
        for key in events:
            np.testing.assert_array_equal(packed['events'][key][()], plain['events'][key][()])
        np.testing.assert_array_equal(packed['labels/data'][()], labels)
    assert (tmp_path / 'gzip.h5').stat().st_size < 0.6 * (tmp_path / 'plain.h5').stat().st_size


def _events(num, seed=0):
    rng = np.random.default_rng(seed)
    return dict(xs=rng.integers(0, 1280, num), ys=rng.integers(0, 720, num),
                ts=np.sort(rng.integers(0, 20_000, num)), ps=rng.integers(0, 2, num))


def _stream(path, events, cuts, chunk_events, compression=None):
    labels = make_labels('RT000', np.arange(1, 21) * 1000, None, None)
    with SpadesFileWriter(path, compression, chunk_events=chunk_events) as writer:
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            writer.append({key: value[lo:hi] for key, value in events.items()})
        writer.finish(labels)
    return labels


@pytest.mark.parametrize('compression', [None, 'gzip'])
def test_streamed_blocks_give_the_file_of_one_write(tmp_path, compression):
    events = _events(10_000)
    _stream(tmp_path / 'one.h5', events, [0, 10_000], 1024, compression)
    labels = _stream(tmp_path / 'blocks.h5', events, [0, 1, 700, 700, 3001, 9999, 10_000],
                     1024, compression)
    assert (tmp_path / 'one.h5').read_bytes() == (tmp_path / 'blocks.h5').read_bytes()
    with h5py.File(tmp_path / 'blocks.h5') as f:
        assert f['events/ts'].chunks == (1024,)  # several chunks: written as they filled
        for key, dtype in EVENT_DTYPES.items():
            assert f['events'][key].dtype == dtype
            np.testing.assert_array_equal(f['events'][key][()], events[key])
        np.testing.assert_array_equal(f['labels/data'][()], labels)
    # The reader accepts it and finds every window's events.
    sequence = SPADESSequence(tmp_path / 'blocks.h5', time_unit='100us', cache_dir=None)
    counts = np.diff(sequence.event_slices, axis=1).ravel()
    stamps = np.arange(1, 21) * 1000
    expected = [np.count_nonzero((events['ts'] > s - 1000) & (events['ts'] <= s))
                for s in stamps]
    np.testing.assert_array_equal(counts, expected)


def test_short_file_is_contiguous_and_exact(tmp_path):
    events = _events(500)
    write_spades_file(tmp_path / 'short.h5', events,
                      make_labels('RT000', np.arange(1, 21) * 1000, None, None))
    with h5py.File(tmp_path / 'short.h5') as f:
        assert f['events/ts'].chunks is None and f['events/ts'].shape == (500,)
    # 13 bytes an event plus HDF5's fixed overhead: no chunk-sized padding.
    assert (tmp_path / 'short.h5').stat().st_size < 500 * 13 + 10_000


def test_unsorted_block_and_unfinished_file_are_errors(tmp_path):
    events = _events(100)
    with pytest.raises(ValueError, match='not sorted'):
        _stream(tmp_path / 'bad.h5', {k: v[::-1] for k, v in events.items()}, [0, 100], 64)
    assert not (tmp_path / 'bad.h5').exists()  # the partial file is deleted
    # Each block sorted, the second earlier than the first.
    swapped = {key: np.r_[value[50:], value[:50]] for key, value in events.items()}
    with pytest.raises(ValueError, match='not sorted'):
        _stream(tmp_path / 'bad.h5', swapped, [0, 50, 100], 64)
    with pytest.raises(RuntimeError, match='without finish'):
        with SpadesFileWriter(tmp_path / 'open.h5') as writer:
            writer.append(events)
    assert not (tmp_path / 'open.h5').exists()
