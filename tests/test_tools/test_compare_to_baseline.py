"""compare_to_baseline.py: the random-rotation reference and the table on small data roots."""
import json
import math

import numpy as np
import pytest

from sparkpose.structures import BODY_FILE, proba2_like

UNIFORM_MEAN_DEG = math.degrees(math.pi / 2 + 2 / math.pi)  # mean angle of a uniform rotation
OLD_METRICS = {  # a metrics file from before the accuracy and symmetry keys
    'pose/pos_err_m_mean': 0.5, 'pose/pos_err_m_median': 0.4,
    'pose/rot_err_deg_mean': 20.0, 'pose/rot_err_deg_median': 15.0,
    'pose/speed_mean': 0.6, 'pose/speed_median': 0.5}


@pytest.fixture
def tool(load_tool):
    return load_tool('analysis_tools/compare_to_baseline.py')


@pytest.fixture
def data_root(spades_root_factory):
    """Two training and two held-out sequences of 12 labelled windows each."""
    return spades_root_factory(names=('RT000', 'RT001', 'RT002', 'RT003'),
                               splits={'train': ['RT000', 'RT001'],
                                       'test': ['RT002', 'RT003']})


def write_metrics(tmp_path, metrics):
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps(dict(config='c.py', checkpoint='e.pth', metrics=metrics)))
    return path


def rows(table):
    """``{label: [model, mean-pose, random, ratio]}`` of the markdown table."""
    cells = [[c.strip() for c in line.strip('|').split('|')] for line in table.splitlines()[2:]]
    return {row[0]: row[1:] for row in cells}


def test_random_rotation_reference(tool):
    rng = np.random.default_rng(5)
    eval_q = rng.normal(size=(20, 4))
    eval_t = np.c_[rng.uniform(-1, 1, (20, 2)), rng.uniform(3, 12, 20)]
    train_t = [[0, 0, 4.0], [0, 0, 6.0]]
    random = tool.random_rotation_baseline(train_t, eval_t, eval_q)
    # 2000 pairs: within 3° of the theoretical 126.5°; the same figures on every run.
    assert random['rot_err_deg_mean'] == pytest.approx(UNIFORM_MEAN_DEG, abs=3.0)
    assert random == tool.random_rotation_baseline(train_t, eval_t, eval_q)
    assert random['rot_acc_30'] < 0.05 and 'rot_err_sym_deg_mean' not in random
    # Paired with the mean training translation (0, 0, 5).
    expected = np.linalg.norm(eval_t - [0, 0, 5.0], axis=1).mean()
    assert random['pos_err_m_mean'] == pytest.approx(expected)
    # Four symmetries: the minimum over four angles is far below the plain error.
    sym = tool.random_rotation_baseline(train_t, eval_t, eval_q, proba2_like().symmetries)
    assert sym['rot_err_sym_deg_mean'] < random['rot_err_deg_mean'] - 30
    assert sym['rot_err_deg_mean'] == random['rot_err_deg_mean']


def test_table_of_an_older_metrics_file(tool, data_root, tmp_path, capsys):
    table = tool.main([str(write_metrics(tmp_path, OLD_METRICS)), '--data-root', str(data_root)])
    table_rows = rows(table)
    assert table.splitlines()[0].split('|')[1:-1] == [
        ' metric ', ' model ', ' mean-pose baseline ', ' random rotation ',
        ' model / baseline ']
    # No body.json in the data root: no rows modulo symmetry.
    assert not any('symmetry' in label for label in table_rows)
    assert 'no body model' in capsys.readouterr().out
    model, baseline, random, ratio = table_rows['rotation error (deg), mean']
    assert model == '20.000' and float(random) == pytest.approx(UNIFORM_MEAN_DEG, abs=5)
    assert float(ratio) == pytest.approx(20.0 / float(baseline), abs=0.01)
    # The references share the mean translation: equal position errors.
    assert table_rows['position error (m), mean'][1] == table_rows['position error (m), mean'][2]
    # Keys the old file lacks print '-'; the references rest on 2 files of 12 labels.
    assert table_rows['rotation error < 10 deg (fraction)'][0] == '-'
    assert float(table_rows['rotation error < 30 deg (fraction)'][2]) < 0.1
    assert table_rows['sequences'] == ['-', '2', '2', '-']
    assert table_rows['windows'] == ['-', '24', '24', '-']


def test_table_with_body_model_and_new_keys(tool, data_root, tmp_path):
    proba2_like().save(data_root / BODY_FILE)  # picked up by default
    metrics = {**OLD_METRICS, 'pose/rot_err_sym_deg_mean': 4.0,
               'pose/rot_err_sym_deg_median': 3.0, 'pose/rot_acc_5': 0.1, 'pose/rot_acc_10': 0.3,
               'pose/rot_acc_30': 0.8, 'pose/rot_sym_acc_5': 0.6, 'pose/rot_sym_acc_10': 0.9,
               'pose/rot_sym_acc_30': 1.0, 'pose/num_windows': 22, 'pose/num_sequences': 2}
    table_rows = rows(tool.main([str(write_metrics(tmp_path, metrics)), '--data-root',
                                 str(data_root)]))
    model, baseline, random, _ = table_rows['rotation error mod symmetry (deg), mean']
    assert model == '4.000'
    plain_random = float(table_rows['rotation error (deg), mean'][2])
    assert float(random) < plain_random - 30  # four symmetries cut the random error
    assert float(baseline) <= float(table_rows['rotation error (deg), mean'][1])
    assert table_rows['rotation error < 10 deg (fraction)'][0] == '0.300'
    assert table_rows['rotation error mod symmetry < 30 deg (fraction)'][0] == '1.000'
    assert table_rows['windows'][:3] == ['22', '24', '24']
    assert len(table_rows) == 16


def test_explicit_body_model_must_exist(tool, data_root, tmp_path):
    missing = tmp_path / 'missing_body.json'
    with pytest.raises(SystemExit, match='missing_body.json: no such file'):
        tool.main([str(write_metrics(tmp_path, OLD_METRICS)), '--data-root', str(data_root),
                   '--body-model', str(missing)])


def test_metrics_file_without_the_basic_keys(tool, data_root, tmp_path):
    metrics = {k: v for k, v in OLD_METRICS.items() if k != 'pose/speed_median'}
    with pytest.raises(SystemExit, match='missing pose/speed_median'):
        tool.main([str(write_metrics(tmp_path, metrics)), '--data-root', str(data_root)])
