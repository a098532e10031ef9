import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
KEYPOINT = REPO / 'configs' / 'keypoint' / 'kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py'
ROT6D = REPO / 'configs' / 'voxelcnn' / 'rot6d-sym_voxelcnn_1xb32-20e_synthetic-crop64.py'


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('analysis_tools/learning_curve.py')


def test_read_metrics_takes_the_newest_run_and_its_epochs(tool, tmp_path):
    paths = []
    for run, (epoch, error) in enumerate([(3, 90.0), (7, 12.5)]):
        path = tmp_path / f'run{run}' / 'metrics.json'
        path.parent.mkdir()
        path.write_text(json.dumps(dict(checkpoint=f'/x/epoch_{epoch}.pth', metrics={
            'pose/rot_err_deg_median': error})))
        os.utime(path, (1000 + run, 1000 + run))
        paths.append(path)
    newest = tool.read_metrics(paths[::-1])
    assert newest == dict(rot_err_deg_median=12.5, epochs=7)


def test_sizes_beyond_the_split_are_refused(tool, synthetic_root):
    with pytest.raises(SystemExit, match='has only 3 trajectories'):
        tool.main([str(KEYPOINT), '--data-root', str(synthetic_root), '--sizes', '4'])
