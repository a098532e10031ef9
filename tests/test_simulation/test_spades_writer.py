import h5py
import numpy as np

from sparkpose.simulation import make_labels, write_spades_file


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
