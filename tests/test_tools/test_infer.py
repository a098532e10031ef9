"""tools/infer.py and the inference API on test-like files (1 µs ticks, no poses)."""
import csv
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from sparkpose.apis import SequencePoses, init_model
from sparkpose.engine import UnsafeCheckpointError
from sparkpose.registry import MODELS

CONFIG = str(Path(__file__).parents[2] / 'configs' / 'voxelcnn'
             / 'rot6d_voxelcnn_1xb32-30e_synthetic-128x128.py')


@pytest.fixture(scope='module')
def test_files(tmp_path_factory, load_tool) -> Path:
    root = tmp_path_factory.mktemp('test_files')
    load_tool('dataset_converters/generate_synthetic.py').main(
        ['--out', str(root), '--num-sequences', '2', '--duration', '0.4', '--first-index', '901',
         '--no-poses', '--time-unit', 'us'])
    return root


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> Path:
    init_default_scope('sparkpose')
    model = MODELS.build(Config.fromfile(CONFIG).model)
    path = tmp_path_factory.mktemp('ckpt') / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return path


@pytest.fixture(scope='module')
def infer(load_tool):
    return load_tool('infer.py')


def read_rows(path: Path) -> list[dict]:
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_one_finite_row_per_label(infer, test_files, checkpoint, tmp_path):
    out = infer.main([CONFIG, str(checkpoint), str(test_files), '--out',
                      str(tmp_path / 'submission.csv'), '--zip'])
    rows = read_rows(out)
    assert [r['id'] for r in rows] == [f'RT90{s}_{i:03d}' for s in (1, 2) for i in range(4)]
    assert [int(r['timestamp']) for r in rows[:4]] == [100_000, 200_000, 300_000, 400_000]
    values = np.array([[float(r[k]) for k in ('Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw')]
                       for r in rows])
    assert np.isfinite(values).all()
    np.testing.assert_allclose(np.linalg.norm(values[:, 3:], axis=1), 1, atol=1e-6)
    with zipfile.ZipFile(tmp_path / 'submission.zip') as archive:
        assert archive.namelist() == ['submission.csv']


def test_template_order_and_mismatch(infer, test_files, checkpoint, tmp_path):
    ids = [f'RT90{s}_{i:03d}' for s in (1, 2) for i in range(4)]
    rng = np.random.default_rng(0)
    shuffled = list(rng.permutation(ids))
    template = tmp_path / 'template.csv'
    template.write_text('id\n' + '\n'.join(shuffled) + '\n')
    out = infer.main([CONFIG, str(checkpoint), str(test_files), '--out',
                      str(tmp_path / 's.csv'), '--template', str(template)])
    assert [r['id'] for r in read_rows(out)] == shuffled
    template.write_text('id\nRT901_000\nRT999_000\n')
    with pytest.raises(SystemExit, match=r"template ids without prediction \['RT999_000'\]"):
        infer.main([CONFIG, str(checkpoint), str(test_files), '--out',
                    str(tmp_path / 'x.csv'), '--template', str(template)])
    assert not (tmp_path / 'x.csv').exists()


def test_non_finite_predictions_are_refused(infer, test_files, checkpoint, tmp_path,
                                            monkeypatch):
    def nan_poses(model, path, *args, **kwargs):
        q = np.tile([0.0, 0.0, 0.0, 1.0], (2, 1))
        return SequencePoses(Path(path).stem, np.arange(2), np.arange(2),
                             np.array([[0, 0, np.nan], [0, 0, 5.0]]), q, np.zeros(2, int),
                             np.ones(2))
    monkeypatch.setattr(infer, 'inference_sequence', nan_poses)
    with pytest.raises(SystemExit, match=r"non-finite predictions in \['RT901_000', "
                                         r"'RT902_000'\]"):
        infer.main([CONFIG, str(checkpoint), str(test_files), '--out', str(tmp_path / 'n.csv')])
    assert not (tmp_path / 'n.csv').exists()


def test_init_model_refuses_code_in_checkpoints(tmp_path):
    class Payload:
        def __reduce__(self):
            return os.system, (f'touch {tmp_path / "ran"}',)
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': Payload()}, path)
    with pytest.raises(UnsafeCheckpointError):
        init_model(CONFIG, path)
    assert not (tmp_path / 'ran').exists()


def test_keypoint_model_writes_a_finite_submission(infer, test_files, tmp_path):
    # The keypoint head solves PnP per sample: infer.py must go through predict, not
    # the bare network, and a window where PnP fails still gets a finite row.
    base = Path(__file__).parents[2] / 'configs' / 'keypoint' / \
        'kpt_voxelcnn-fusion_1xb32-20e_synthetic-crop64.py'
    body = test_files / 'body.json'
    config = tmp_path / 'kpt.py'
    config.write_text(f"_base_ = ['{base}']\nmodel = dict(head=dict(body_model='{body}'))\n"
                      f"val_evaluator = dict(body_model='{body}')\n"
                      "test_evaluator = val_evaluator\ncustom_hooks = []\n")
    init_default_scope('sparkpose')
    model = MODELS.build(Config.fromfile(str(config)).model)
    checkpoint = tmp_path / 'kpt.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    rows = read_rows(infer.main([str(config), str(checkpoint), str(test_files), '--out',
                                 str(tmp_path / 'kpt.csv')]))
    assert len(rows) == 8
    values = np.array([[float(r[k]) for k in ('Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw')]
                       for r in rows])
    assert np.isfinite(values).all() and (values[:, 2] > 0).all()
