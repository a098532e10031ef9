"""--data-root points every dataset and body model at a folder; no-op overrides are refused."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from sparkpose.engine.config_checks import RUNNER_KEYS
from sparkpose.engine.data_root_options import check_parse_time_overrides, point_at_data_root
from sparkpose.structures import BODY_FILE, proba2_like

REPO = Path(__file__).parents[2]
KEYPOINT = REPO / 'configs' / 'keypoint' / 'kpt_voxelcnn-fusion_1xb32-24e_synthetic-crop64.py'
ROT6D = REPO / 'configs' / 'voxelcnn' / 'rot6d-sym_voxelcnn_1xb32-20e_synthetic-crop64.py'


@pytest.mark.parametrize('config, body_keys', [
    (KEYPOINT, {'model.head.body_model', 'val_evaluator.body_model',
                'test_evaluator.body_model', 'custom_hooks.0.body_model'}),
    (ROT6D, {'model.head.loss_rotation.body_model', 'model.head.symmetry_classifier.body_model',
             'val_evaluator.body_model', 'test_evaluator.body_model',
             'custom_hooks.0.body_model'})])
def test_every_dataset_and_body_model_key_points_at_the_folder(tmp_path, config, body_keys):
    proba2_like().save(tmp_path / BODY_FILE)
    cfg = Config.fromfile(str(config))
    changed = point_at_data_root(cfg, str(tmp_path))
    loaders = {f'{k}_dataloader.dataset.data_root' for k in ('train', 'val', 'test')}
    assert set(changed) == loaders | body_keys
    for loader in ('train', 'val', 'test'):
        assert cfg[f'{loader}_dataloader'].dataset.data_root == f'{tmp_path}/'
    read = {k: v for k, v in cfg.to_dict().items() if k in RUNNER_KEYS}
    assert 'data/demo' not in json.dumps(read)  # nothing read points at the demo's folder


def test_without_a_body_file_the_configs_body_model_stays(tmp_path):
    cfg = Config.fromfile(str(KEYPOINT))
    assert point_at_data_root(cfg, str(tmp_path)) == [
        f'{k}_dataloader.dataset.data_root' for k in ('train', 'val', 'test')]
    assert cfg.model.head.body_model == 'data/demo/body.json'
    with pytest.raises(FileNotFoundError, match='no such folder'):
        point_at_data_root(cfg, str(tmp_path / 'missing'))


@pytest.mark.parametrize('option, named', [
    ('data_root', 'train_dataloader.dataset.data_root'),
    ('body_model', 'model.head.body_model'),
    ('input_size', 'train_dataloader.dataset.pipeline.3.input_size')])
def test_overrides_of_parse_time_names_are_refused(option, named):
    cfg = Config.fromfile(str(KEYPOINT))
    with pytest.raises(KeyError, match=f'--cfg-options {option}: .*{named}'):
        check_parse_time_overrides(cfg, [option])
    check_parse_time_overrides(cfg, ['train_dataloader.dataset.data_root', 'randomness.seed'])


@pytest.mark.slow
def test_train_with_data_root_uses_its_body_model(synthetic_root, tmp_path):
    # The folder's body.json must reach head, metric and hook: a wrong-shaped one fails.
    base = Config.fromfile(str(KEYPOINT))
    assert base.model.head.body_model != f'{synthetic_root}/body.json'
    work = tmp_path / 'work'
    command = [sys.executable, 'tools/train.py', str(KEYPOINT), '--work-dir', str(work),
               '--data-root', str(synthetic_root), '--cfg-options', 'train_cfg.max_epochs=1',
               'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
               'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
               'train_dataloader.batch_size=8']
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    dumped = Config.fromfile(str(next(work.glob('*/vis_data/config.py'))))
    body = f'{synthetic_root}/body.json'
    assert dumped.model.head.body_model == dumped.val_evaluator.body_model == body
    assert dumped.custom_hooks[0].body_model == body
    assert dumped.train_dataloader.dataset.data_root == f'{synthetic_root}/'
    refused = subprocess.run(command[:5] + ['--cfg-options', f'data_root={synthetic_root}/'],
                             cwd=REPO, capture_output=True, text=True)
    assert refused.returncode != 0
    assert 'only read while the config file is parsed' in refused.stderr
