"""evaluate_sequence_filter.py on a predictions CSV of two tumbling trajectories."""
import csv

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sparkpose.structures import BODY_FILE, proba2_like


def _write(path, num=40, seed=0):
    rng = np.random.default_rng(seed)
    symmetries = np.asarray(proba2_like().symmetries)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['id', 'timestamp', 'Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw',
                         'estimated', 'gt_Tx', 'gt_Ty', 'gt_Tz', 'gt_Qx', 'gt_Qy', 'gt_Qz',
                         'gt_Qw'])
        for seq in ('RT000', 'RT001'):
            truth = Rotation.from_rotvec(np.radians(5) * np.arange(num)[:, None]
                                         * [0, 0.6, 0.8]) * Rotation.random(random_state=seed)
            pred = truth.as_matrix()
            flipped = rng.random(num) < 0.2
            pred[flipped] = pred[flipped] @ symmetries[1]
            estimated = rng.random(num) > 0.1
            q_pred = Rotation.from_matrix(pred).as_quat()
            q_pred[~estimated] = [0, 0, 0, 1]  # the fallback pose
            for i in range(num):
                t = [0.0, 0.0, 7.0]
                writer.writerow([f'{seq}_{i:03d}', i * 1000, *t, *q_pred[i], int(estimated[i]),
                                 *t, *truth[i].as_quat()])


def test_filtered_poses_beat_the_raw_ones(load_tool, tmp_path, capsys):
    tool = load_tool('analysis_tools/evaluate_sequence_filter.py')
    _write(tmp_path / 'pred.csv')
    proba2_like().save(tmp_path / BODY_FILE)
    figures = tool.main([str(tmp_path / 'pred.csv'), '--body-model',
                         str(tmp_path / BODY_FILE), '--json', str(tmp_path / 'f.json')])
    assert figures['raw']['rot_err_deg_mean'] > 30
    assert figures['offline']['rot_err_deg_mean'] < 2
    assert figures['causal']['rot_err_deg_mean'] < figures['raw']['rot_err_deg_mean'] / 3
    printed = capsys.readouterr().out
    assert '2 sequences, 80 windows' in printed and '| offline |' in printed


def test_a_csv_without_ground_truth_is_refused(load_tool, tmp_path):
    tool = load_tool('analysis_tools/evaluate_sequence_filter.py')
    (tmp_path / 'p.csv').write_text('id,timestamp,Tx,Ty,Tz,Qx,Qy,Qz,Qw\nRT0_000,0,0,0,1,0,0,0,1\n')
    proba2_like().save(tmp_path / BODY_FILE)
    with pytest.raises(SystemExit, match='lacks the columns'):
        tool.main([str(tmp_path / 'p.csv'), '--body-model', str(tmp_path / BODY_FILE)])
