"""projects/example: its config pulls its own backbone and transform in and trains."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from sparkpose.registry import RUNNERS, TRANSFORMS

REPO = Path(__file__).parents[2]
CONFIG = REPO / 'projects' / 'example' / 'configs' / 'rot6d_dwcnn_1xb32-30e_synthetic-128x128.py'


@pytest.fixture
def repo_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``PYTHONPATH=.`` does for ``tools/train.py`` run from the repository root."""
    monkeypatch.syspath_prepend(str(REPO))


@pytest.mark.usefixtures('repo_on_path')
def test_example_config_trains_with_project_parts(synthetic_root, tmp_path, monkeypatch):
    cfg = Config.fromfile(CONFIG)  # runs custom_imports
    from projects.example.example_project import DepthwiseCNN, RandomTimeJitter

    cfg.merge_from_dict({
        'work_dir': str(tmp_path), 'train_cfg.max_epochs': 1,
        'train_dataloader.dataset.data_root': str(synthetic_root),
        'train_dataloader.dataset.indices': 2, 'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.pipeline.0.prob': 1.0,
        'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None,
        'default_hooks.checkpoint.save_best': None,
        'visualizer.vis_backends': [dict(type='LocalVisBackend')]})
    jittered = []
    original = RandomTimeJitter.transform

    def spy(self, results):
        before = results['events']['t'].copy()
        results = original(self, results)
        jittered.append((before, results['events']['t'], results['window_us']))
        return results

    monkeypatch.setattr(RandomTimeJitter, 'transform', spy)
    runner = RUNNERS.build(cfg)
    backbone = runner.model.backbone
    assert isinstance(backbone, DepthwiseCNN)
    start = {k: v.clone() for k, v in backbone.state_dict().items()}
    runner.train()

    # The project's backbone is the one that trained...
    assert runner.iter == 1
    assert not torch.equal(start['stem.0.weight'], backbone.state_dict()['stem.0.weight'])
    # ...and the project's transform jittered both samples, within their windows, sorted.
    assert len(jittered) == 2
    for before, after, (t_start, t_end) in jittered:
        assert len(after) == len(before) > 0 and not np.array_equal(before, after)
        assert after.min() > t_start and after.max() <= t_end
        assert np.all(np.diff(after) >= 0)
        # Jitter, not a shuffle: sorted times move by about sigma (500 µs).
        assert 0 < np.abs(np.sort(after) - before).mean() < 2000


def test_time_jitter_keeps_events_together(repo_on_path):
    from projects.example.example_project import RandomTimeJitter  # noqa: F401 (registers)

    init_default_scope('sparkpose')
    jitter = TRANSFORMS.build(dict(type='RandomTimeJitter', prob=1.0, sigma_us=50.0))
    t = np.arange(1000, 2000, 10, dtype=np.int64)
    events = dict(x=np.arange(100), y=np.arange(100) * 2, t=t, p=(np.arange(100) % 2))
    np.random.seed(0)
    out = jitter(dict(events=events, window_us=(1000, 2000)))['events']
    # Each event keeps its pixel and polarity (x identifies it), and moved by little.
    assert np.array_equal(out['y'], out['x'] * 2) and np.array_equal(out['p'], out['x'] % 2)
    moved = out['t'] - t[out['x']]
    assert 0 < np.abs(moved).mean() < 100 and out['t'].min() > 1000
    assert out['t'].dtype == np.int64
