"""--data-root points every dataset and body-model path at one folder, --body-model every
body-model path at one file; helper overrides fail."""
import json
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from sparkpose.engine.data_root import (
    point_at_body_model,
    point_at_data_root,
    refuse_unread_overrides,
)

REPO = Path(__file__).resolve().parents[2]
KEYPOINT = REPO / 'configs' / 'keypoint' / 'kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py'
ROT6D = REPO / 'configs' / 'voxelcnn' / 'rot6d-sym_voxelcnn_1xb32-20e_synthetic-crop64.py'


def _paths(cfg, key):
    found = {}

    def walk(node, prefix):
        items = (node.items() if isinstance(node, dict)
                 else enumerate(node) if isinstance(node, list | tuple) else ())
        for k, v in items:
            path = f'{prefix}.{k}' if prefix else str(k)
            if k == key:
                found[path] = v
            walk(v, path)
    walk(cfg.to_dict(), '')
    return found


@pytest.fixture
def data_dir(tmp_path):
    (tmp_path / 'body.json').write_text(json.dumps({}))
    return tmp_path


@pytest.mark.parametrize('config', [KEYPOINT, ROT6D])
def test_train_tool_data_root_reaches_datasets_head_metric_and_hook(config, data_dir,
                                                                      load_tool, monkeypatch):
    train = load_tool('train.py')
    monkeypatch.setattr(sys, 'argv', ['train.py', str(config), '--data-root', str(data_dir)])
    args = train.parse_args()
    cfg = train.merge_args(Config.fromfile(str(config)), args)
    roots = _paths(cfg, 'data_root')
    bodies = _paths(cfg, 'body_model')
    assert {f'{s}_dataloader.dataset.data_root' for s in ('train', 'val', 'test')} <= set(roots)
    assert set(roots.values()) == {f'{data_dir}/'}
    assert 'custom_hooks.0.body_model' in bodies and 'val_evaluator.body_model' in bodies
    assert any(key.startswith('model.head') for key in bodies)
    assert set(bodies.values()) == {f'{data_dir}/body.json'}


def test_train_tool_body_model_wins_over_data_roots_body(data_dir, tmp_path, load_tool,
                                                         monkeypatch):
    body = tmp_path / 'reconstructed.json'
    body.write_text(json.dumps({}))
    train = load_tool('train.py')
    monkeypatch.setattr(sys, 'argv', ['train.py', str(KEYPOINT), '--data-root', str(data_dir),
                                      '--body-model', str(body)])
    cfg = train.merge_args(Config.fromfile(str(KEYPOINT)), train.parse_args())
    bodies = _paths(cfg, 'body_model')
    assert {'model.head.body_model', 'val_evaluator.body_model', 'test_evaluator.body_model',
            'custom_hooks.0.body_model'} <= set(bodies)
    assert set(bodies.values()) == {str(body)}
    assert set(_paths(cfg, 'data_root').values()) == {f'{data_dir}/'}


def test_missing_body_model_names_the_option_and_keys(tmp_path):
    with pytest.raises(FileNotFoundError, match='--body-model: no .*nothing.json.*model.head'):
        point_at_body_model(Config.fromfile(str(KEYPOINT)), str(tmp_path / 'nothing.json'))


def test_data_root_without_body_model_names_the_keys(tmp_path):
    with pytest.raises(FileNotFoundError, match='body.json.*model.head.body_model'):
        point_at_data_root(Config.fromfile(str(KEYPOINT)), str(tmp_path))


@pytest.mark.parametrize('key', ['data_root', 'body_model', 'input_size'])
def test_override_of_a_parse_time_name_is_refused_with_the_keys_to_set(key):
    cfg = Config.fromfile(str(KEYPOINT))
    expected = {'data_root': 'train_dataloader.dataset.data_root',
                'body_model': 'model.head.body_model',
                'input_size': 'test_dataloader.dataset.pipeline.1.input_size'}[key]
    with pytest.raises(KeyError, match=rf'{key}.*not read.*{expected}'):
        refuse_unread_overrides(cfg, [key])


def test_overrides_of_read_keys_pass():
    refuse_unread_overrides(Config.fromfile(str(KEYPOINT)),
                            ['train_dataloader.dataset.data_root', 'train_cfg.max_epochs'])
