"""The demo's path end to end on a tiny generated set: train.py → test.py → baseline table."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sparkpose.engine import load_checkpoint_safely

REPO = Path(__file__).parents[2]
CONFIG = REPO / 'configs' / 'keypoint' / 'kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py'


def run(*args: str) -> str:
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def row(table: str, name: str) -> list[float]:
    """The numbers of the table row ``name`` (model, baseline, ...)."""
    line = next(line for line in table.splitlines() if line.startswith(f'| {name} |'))
    return [float(cell) for cell in line.strip('|').split('|')[1:] if cell.strip() != '-']


def scalar_tags(work_dir: Path) -> set[str]:
    tags = set()
    for events in work_dir.glob('*/vis_data/events.out.tfevents*'):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        tags |= set(accumulator.Tags()['scalars'])
    return tags


@pytest.mark.slow
def test_train_test_and_compare(synthetic_root, load_tool, tmp_path):
    work_dir = tmp_path / 'work'
    loader = ('train_dataloader.num_workers=0 '
              'val_dataloader.num_workers=0 test_dataloader.num_workers=0 '
              'train_dataloader.persistent_workers=False val_dataloader.persistent_workers=False '
              'test_dataloader.persistent_workers=False').split()
    # --data-root: datasets, head, metric and hook all read the generated set's body.json.
    options = ['--data-root', str(synthetic_root), '--cfg-options', *loader,
               'train_cfg.max_epochs=2', 'train_cfg.val_interval=1',
               'train_dataloader.batch_size=8']
    out = run('tools/train.py', str(CONFIG), '--work-dir', str(work_dir), *options)
    assert 'data/demo' not in out
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    assert checkpoint.endswith('epoch_2.pth')
    body = json.loads((synthetic_root / 'body.json').read_text())
    assert load_checkpoint_safely(checkpoint)['meta']['body_model'] == body
    # TensorBoard has the training losses and the validation metrics.
    expected = {'loss', 'loss_heatmap', 'pose/speed_mean', 'pose/rot_err_sym_deg_median',
                'pose/pnp_success_rate', 'pose/kpt_err_px_median'}
    assert expected <= scalar_tags(work_dir)

    csv = tmp_path / 'predictions.csv'
    run('tools/test.py', str(CONFIG), checkpoint, '--work-dir', str(tmp_path / 'test'),
        '--out', str(csv), *options)
    rows = csv.read_text().splitlines()
    assert rows[0].startswith('id,timestamp,Tx,Ty,Tz,Qx,Qy,Qz,Qw,gt_Tx')
    assert len(rows) - 1 == 8  # one test trajectory of 0.8 s: 8 labels
    metrics = json.loads(next((tmp_path / 'test').glob('*/metrics.json')).read_text())
    metrics = metrics['metrics']
    # The keypoint head's figures are reported; PnP failures fall back to finite poses.
    assert 0 <= metrics['pose/pnp_success_rate'] <= 1 and metrics['pose/num_windows'] == 8
    assert 0 <= metrics['pose/rot_err_sym_deg_median'] <= metrics['pose/rot_err_deg_median']

    table = load_tool('analysis_tools/compare_to_baseline.py').main(
        [str(next((tmp_path / 'test').glob('*/metrics.json'))), '--data-root',
         str(synthetic_root)])
    assert 'mean-pose baseline' in table and 'random rotation' in table
    # The generator writes body.json: the rows modulo symmetry are there (16 rows + header).
    assert 'rotation error mod symmetry (deg), mean' in table and table.count('\n') == 17
    # Two epochs on three trajectories learn too little to beat a baseline (that is what
    # `make demo` shows); here every figure must agree with the predictions it came from.
    columns = rows[0].split(',')
    table_rows = [line.split(',') for line in rows[1:]]

    def numbers(names):
        return np.array([[float(row[columns.index(n)]) for n in names] for row in table_rows])

    pose = ('Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw')
    pred, gt = numbers(pose), numbers([f'gt_{n}' for n in pose])
    pos_err = np.linalg.norm(pred[:, :3] - gt[:, :3], axis=1)
    rot_err = np.degrees(2 * np.arccos(np.clip(np.abs((pred[:, 3:] * gt[:, 3:]).sum(1)), 0, 1)))
    assert metrics['pose/pos_err_m_median'] == pytest.approx(np.median(pos_err), abs=1e-6)
    assert metrics['pose/rot_err_deg_mean'] == pytest.approx(rot_err.mean(), abs=1e-3)
    assert row(table, 'position error (m), median')[0] == pytest.approx(
        metrics['pose/pos_err_m_median'], abs=1e-3)
    assert row(table, 'rotation error (deg), mean')[0] == pytest.approx(
        metrics['pose/rot_err_deg_mean'], abs=1e-3)
