"""DirectSlices: pread slices equal HDF5's for every layout it takes, and refuses the rest."""
import h5py
import numpy as np
import pytest

from sparkpose.datasets.h5_direct_read import DirectSlices
from sparkpose.datasets.h5_file_pool import H5FilePool
from sparkpose.datasets.spades_reader import SPADESSequence


@pytest.fixture
def h5_file(tmp_path):
    """``make(**create_dataset kwargs)`` -> (open h5py file, its dataset 'a', the data)."""
    files = []

    def make(dtype=np.int64, length=10_007, **kwargs):
        path = tmp_path / f'{len(files)}.h5'
        data = np.random.default_rng(len(files)).integers(0, 1000, length).astype(dtype)
        with h5py.File(path, 'w') as f:
            f.create_dataset('a', data=data, **kwargs)
        files.append(h5py.File(path, 'r'))
        return files[-1], files[-1]['a'], data

    yield make
    for f in files:
        f.close()


@pytest.mark.parametrize('layout', [dict(chunks=(1000,)), dict(chunks=(4096,)), dict()],
                         ids=['chunked', 'chunked-last-partial', 'contiguous'])
@pytest.mark.parametrize('dtype', [np.int64, np.uint16, np.uint8])
def test_slices_equal_hdf5s(h5_file, layout, dtype):
    _, dataset, data = h5_file(dtype, **layout)
    direct = DirectSlices.from_dataset(dataset)
    assert direct is not None and len(direct) == len(data)
    for start, stop in [(0, len(data)), (0, 1), (999, 1001), (1000, 2000), (3, 9000),
                        (10_000, 10_007), (500, 500)]:
        got = direct[start:stop]
        assert got.dtype == dataset.dtype
        np.testing.assert_array_equal(got, data[start:stop])


@pytest.mark.parametrize('kwargs', [dict(chunks=(1000,), compression='gzip'),
                                    dict(chunks=(1000,), shuffle=True), dict(dtype='>i8')],
                         ids=['gzip', 'shuffle-filter', 'big-endian'])
def test_layouts_only_hdf5_can_read_are_refused(h5_file, kwargs):
    _, dataset, data = h5_file(**kwargs)
    assert DirectSlices.from_dataset(dataset) is None
    np.testing.assert_array_equal(dataset[5:50], data[5:50])


def test_unwritten_chunks_are_refused(tmp_path):
    with h5py.File(tmp_path / 'a.h5', 'w') as f:
        f.create_dataset('a', shape=(5000,), dtype=np.int64, chunks=(1000,))[:1000] = 7
    with h5py.File(tmp_path / 'a.h5', 'r') as f:
        assert DirectSlices.from_dataset(f['a']) is None  # HDF5 reads them as the fill value


def test_pool_hands_out_direct_slices_and_the_reader_matches_hdf5(spades_file_factory):
    path = str(spades_file_factory(events_per_label=3000))
    pool = H5FilePool()
    seq = SPADESSequence(path, pool=pool)
    assert all(isinstance(d, DirectSlices)
               for d in pool.datasets(path, ['events/xs', 'events/ts']))
    with h5py.File(path, 'r') as f:
        for label in (0, 5, 11):
            start, stop = seq.event_slices[label]
            events = seq.read_window(label)
            np.testing.assert_array_equal(events['x'], f['events/xs'][start:stop])
            np.testing.assert_array_equal(events['t'], f['events/ts'][start:stop] * 100)


def test_a_file_cut_short_is_an_oserror(h5_file, tmp_path):
    file, dataset, _ = h5_file(chunks=(1000,))
    direct = DirectSlices.from_dataset(dataset)
    with open(file.filename, 'r+b') as raw:
        raw.truncate(int(direct.chunk_offsets[5]) + 100)
    with pytest.raises(OSError, match='file ends at byte'):
        direct[4000:6000]
