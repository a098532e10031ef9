"""check_dataset.py: every file of every split validated, all problems in one table."""
import h5py
import numpy as np
import pytest

from sparkpose.simulation.spades_writer import make_labels


@pytest.fixture(scope='module')
def check(load_tool):
    return load_tool('analysis_tools/check_dataset.py').main


def _unsort(path) -> None:
    """Swap two neighbouring timestamps in place: one decrease, as a bad merge would leave."""
    with h5py.File(path, 'r+') as f:
        ts = f['events/ts']
        ts[300], ts[301] = ts[301] + 5, ts[300]


def test_truncated_unsorted_and_good_files_all_reported(check, spades_root_factory,
                                                        spades_file_factory, capsys):
    root = spades_root_factory(names=('RT000', 'RT001'), splits={
        'train': ['RT000', 'RT001'], 'val': ['RT002']}, num_labels=6)
    _unsort(spades_file_factory('RT002', num_labels=6, directory=root))
    truncated = root / 'RT001.h5'
    truncated.write_bytes(truncated.read_bytes()[:5000])

    assert check([str(root)]) == 1
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert 'ok' in lines['RT000'].split() and '100us' in lines['RT000']
    assert ' 6 ' in lines['RT000']  # labels
    assert 'UNUSABLE' in lines['RT001'] and 'not a readable HDF5 file' in lines['RT001']
    assert 'UNUSABLE' in lines['RT002'] and '/events/ts is not sorted' in lines['RT002']
    assert lines['RT002'].split()[1] == 'val.txt'
    assert '3 file(s) checked' in lines['3'] and '2 unusable' in lines['3']


def test_good_folder_passes_with_statistics_and_warnings(check, spades_root_factory,
                                                        spades_file_factory, capsys):
    root = spades_root_factory(names=('RT000',), num_labels=4, events_per_label=50)
    # Labels at 0.1, 0.2, 0.3 and 0.6 s, events only up to 0.4 s: a gap, an empty window.
    spades_file_factory('RT001', num_labels=4, directory=root, labels=make_labels(
        'RT001', np.array([1000, 2000, 3000, 6000]), None, None))
    (root / 'train.txt').write_text('RT000\nRT001\n')
    assert check([str(root)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    low, median, high = map(int, rows['RT000'].split()[6].split('/'))
    assert 0 < low <= median <= high < 200 and 'ok' in rows['RT000'].split()
    assert 'warning' in rows['RT001'].split() and 'no' in rows['RT001'].split()
    assert '1 empty window(s), first at label 3' in rows['RT001']
    assert '1 gap(s) between labels, largest 300 ms after label 2' in rows['RT001']
    # A missing file and a bad camera.json are problems too, in the same run.
    (root / 'train.txt').write_text('RT000\nRT404\n')
    (root / 'camera.json').write_text('{"Nu": ')
    assert check([str(root)]) == 1
    out = capsys.readouterr().out
    assert f'file {root / "RT404.h5"} not found' in out
    assert f'UNUSABLE: {root / "camera.json"}: not a readable camera JSON file' in out
