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
from sparkpose.simulation.spades_writer import make_labels, write_camera_json

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
    assert tuple(rows[0]) == infer.HEADER  # the challenge's header, the id first
    # These labels start one window after the recording's start: all have a full window.
    assert [r['timestamp'] for r in rows] == [f'RT90{s}_{i:03d}' for s in (1, 2)
                                              for i in range(4)]
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
    header = ','.join(infer.HEADER)
    template.write_text(header + '\n' + '\n'.join(shuffled) + '\n')
    out = infer.main([CONFIG, str(checkpoint), str(test_files), '--out',
                      str(tmp_path / 's.csv'), '--template', str(template)])
    assert [r['timestamp'] for r in read_rows(out)] == shuffled
    template.write_text(f'{header}\nRT901_000\nRT999_000\n')
    with pytest.raises(SystemExit, match=r"the data cannot give: \['RT999_000'\]"):
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
        'kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py'
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


@pytest.fixture
def challenge_files(tmp_path, spades_file_factory) -> Path:
    """Two test files whose label 0 sits at the recording's start, as in SPADES."""
    root = tmp_path / 'challenge'
    for seed, name in enumerate(('RT901', 'RT902')):
        spades_file_factory(name, seed=seed, directory=root, time_unit='100us',
                            labels=make_labels(name, 1000 * np.arange(4), None, None))
    write_camera_json(root)
    return root


def test_challenge_template_is_kept_exactly(infer, challenge_files, checkpoint, tmp_path):
    template = tmp_path / 'template.csv'
    header = 'timestamp,Tx,Ty,Tz,Qx,Qy,Qz,Qw'
    template.write_text(f'{header}\nRT902_003\nRT901_001\nRT902_001\n')
    out = infer.main([CONFIG, str(checkpoint), str(challenge_files), '--out',
                      str(tmp_path / 's.csv'), '--template', str(template)])
    lines = out.read_text().splitlines()
    assert lines[0] == header
    assert [line.split(',')[0] for line in lines[1:]] == ['RT902_003', 'RT901_001', 'RT902_001']
    assert all(len(line.split(',')) == 8 for line in lines)
    # Without a template: every label with a full window, so label 0 (at t=0) is left out.
    rows = read_rows(infer.main([CONFIG, str(checkpoint), str(challenge_files), '--out',
                                 str(tmp_path / 'all.csv')]))
    assert [r['timestamp'] for r in rows] == [f'RT90{s}_{i:03d}' for s in (1, 2)
                                              for i in (1, 2, 3)]
    template.write_text(f'{header}\nRT901_000\nRT901_001\n')
    with pytest.raises(SystemExit, match=r"cannot give: \['RT901_000'\]"):
        infer.main([CONFIG, str(checkpoint), str(challenge_files), '--out',
                    str(tmp_path / 'x.csv'), '--template', str(template)])


def test_bad_files_are_found_before_any_work(infer, challenge_files, checkpoint, tmp_path,
                                             monkeypatch):
    (challenge_files / 'RT903.h5').write_bytes(b'')
    calls = []
    monkeypatch.setattr(infer, 'inference_sequence',
                        lambda *a, **k: calls.append(a) or pytest.fail('work started'))
    with pytest.raises(SystemExit, match=r'1 of 3 input file\(s\) unusable') as stop:
        infer.main([CONFIG, str(checkpoint), str(challenge_files), '--out',
                    str(tmp_path / 'x.csv')])
    table = str(stop.value).splitlines()[1:]
    assert len(table) == 1 and 'RT903.h5' in table[0]
    assert not calls and not (tmp_path / 'x.csv').exists()


def test_skip_bad_writes_the_good_rows_and_lists_the_rest(infer, challenge_files, checkpoint,
                                                          tmp_path, capsys):
    (challenge_files / 'RT903.h5').write_bytes(b'')
    out = infer.main([CONFIG, str(checkpoint), str(challenge_files), '--out',
                      str(tmp_path / 's.csv'), '--skip-bad'])
    assert {r['timestamp'][:5] for r in read_rows(out)} == {'RT901', 'RT902'}
    assert 'RT903.h5' in capsys.readouterr().out


def test_missing_camera_is_refused_unless_given(infer, challenge_files, checkpoint, tmp_path):
    camera = tmp_path / 'camera.json'
    (challenge_files / 'camera.json').rename(camera)
    with pytest.raises(SystemExit, match='no .*camera.json; .*--camera FILE'):
        infer.main([CONFIG, str(checkpoint), str(challenge_files), '--out',
                    str(tmp_path / 'x.csv')])
    out = infer.main([CONFIG, str(checkpoint), str(challenge_files), '--out',
                      str(tmp_path / 's.csv'), '--camera', str(camera)])
    assert len(read_rows(out)) == 6
