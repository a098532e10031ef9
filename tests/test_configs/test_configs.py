"""Every runnable config loads, builds and takes a training step (on generated data)."""
from pathlib import Path

import pytest
import timm
import torch
from mmengine.config import Config

from sparkpose.registry import RUNNERS

CONFIG_DIR = Path(__file__).parents[2] / 'configs'
CONFIGS = sorted(p for p in CONFIG_DIR.rglob('*.py') if '_base_' not in p.parts)


def shrink_dataloader(loader: dict, data_root: Path, num_samples: int) -> None:
    """Two samples, no worker processes: the step, not the throughput, is under test."""
    loader.update(batch_size=num_samples, num_workers=0, persistent_workers=False)
    loader.pop('prefetch_factor', None)
    loader.dataset.update(data_root=str(data_root), indices=num_samples)


def point_body_models(node, path: Path) -> None:
    """Every ``body_model`` key of a config (head, loss, metric) → the generated body.json."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'body_model':
                node[key] = str(path)
            else:
                point_body_models(value, path)
    elif isinstance(node, (list, tuple)):
        for item in node:
            point_body_models(item, path)


@pytest.fixture(scope='module')
def rgb_efficientnet(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp('weights') / 'efficientnet_b0_rgb.pth'
    torch.save(timm.create_model('efficientnet_b0', pretrained=False).state_dict(), path)
    return path


def test_configs_are_found():
    names = {p.stem for p in CONFIGS}
    assert len(names) >= 5
    assert any('sota' in n for n in names) and any('synthetic' in n for n in names)


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: p.stem)
def test_config_takes_a_training_step(config, synthetic_root, rgb_efficientnet, tmp_path):
    cfg = Config.fromfile(str(config))
    assert cfg.default_scope == 'sparkpose' and cfg.runner_type == 'SparkposeRunner'
    shrink_dataloader(cfg.train_dataloader, synthetic_root, 2)
    cfg.train_cfg.update(max_epochs=1, val_interval=10)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.default_hooks.checkpoint.update(save_best=None)
    cfg.work_dir = str(tmp_path)
    point_body_models(cfg._cfg_dict, synthetic_root / 'body.json')
    if cfg.model.backbone.get('pretrained'):
        cfg.model.backbone.pretrained = str(rgb_efficientnet)
    runner = RUNNERS.build(cfg)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    assert runner.iter == 1
    after = runner.model.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any(k.startswith('head.') for k in changed), 'the head did not train'
    assert (tmp_path / 'epoch_1.pth').is_file()
