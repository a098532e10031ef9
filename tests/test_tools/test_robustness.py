"""robustness.py: the thinned copies, the random reference and the set catalogue."""
import math

import h5py
import numpy as np
import pytest

from sparkpose.datasets import SPADESSequence, read_labels

UNIFORM_MEAN_DEG = math.degrees(math.pi / 2 + 2 / math.pi)


@pytest.fixture
def tool(load_tool):
    return load_tool('analysis_tools/robustness.py')


def test_thin_copy_keeps_a_sixth_of_each_files_events_and_all_labels(tool, synthetic_root,
                                                                     tmp_path):
    out = tmp_path / 'thin'
    tool.thin_copy(synthetic_root, out, 1 / 6, seed=3)
    assert (out / 'test.txt').read_text() == (synthetic_root / 'test.txt').read_text()
    name = (out / 'test.txt').read_text().split()[0]
    with h5py.File(synthetic_root / f'{name}.h5') as src, h5py.File(out / f'{name}.h5') as dst:
        n_src, n_dst = len(src['events/ts']), len(dst['events/ts'])
        assert abs(n_dst / n_src - 1 / 6) < 5 * math.sqrt(n_src * 5 / 36) / n_src
        assert dict(dst.attrs) == dict(src.attrs)
        kept = np.isin(dst['events/ts'][()], src['events/ts'][()])
        assert kept.all() and (np.diff(dst['events/ts'][()]) >= 0).all()
    np.testing.assert_array_equal(read_labels(out / f'{name}.h5'),
                                  read_labels(synthetic_root / f'{name}.h5'))
    assert len(SPADESSequence(str(out / f'{name}.h5'))) == len(read_labels(out / f'{name}.h5'))


def test_random_reference_is_the_uniform_rotation_error(tool, synthetic_root):
    median, mean = tool.random_reference(synthetic_root)
    assert mean == pytest.approx(UNIFORM_MEAN_DEG, abs=6)
    assert median > 110


def test_every_set_is_a_valid_generator_call_or_thins_one(tool, load_tool, tmp_path):
    generator = load_tool('dataset_converters/generate_synthetic.py')
    for name, (_, flags, count) in tool.SETS.items():
        if isinstance(flags, str):
            assert not isinstance(tool.SETS[flags][1], str), name
            continue
        args = generator.parse_args(['--out', str(tmp_path), '--num-sequences', str(count),
                                     *flags])
        # At least 200 windows a set (10 labels a second).
        assert args.num_sequences * round(args.duration * 10) >= 200, name
    assert generator.parse_args(['--out', str(tmp_path), *tool.SETS['spades'][1]]).resolution \
        == (1280, 720)
