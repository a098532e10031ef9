"""Toy model, data and metric for the engine tests: tiny, CPU-only, no other sparkpose parts.

Importing this module registers ``ToyPoseModel``, ``ToyPoseDataset`` and ``ToyMSEMetric`` in
sparkpose's registries (tests run in-process import it; the tool tests pass it through
``custom_imports`` with ``tests/`` on ``PYTHONPATH``).
"""
import copy
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import Dataset

from sparkpose.registry import DATASETS, HOOKS, METRICS, MODELS, RUNNERS

INJECTABLE_ERRORS = {'OutOfMemoryError': torch.cuda.OutOfMemoryError, 'ValueError': ValueError,
                     'RuntimeError': RuntimeError}


class ToyBackbone(nn.Module):
    """Conv + BatchNorm backbone with the freeze()/unfreeze() contract of sparkpose backbones.

    Deliberately minimal: ``freeze()`` only clears ``requires_grad`` and does not hold
    BatchNorm in eval mode, so the tests see whether the unfreeze hook copes on its own.
    """

    def __init__(self, in_channels: int = 2, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.frozen = False

    def freeze(self) -> None:
        for param in self.parameters():
            param.requires_grad = False
        self.frozen = True

    def unfreeze(self) -> None:
        for param in self.parameters():
            param.requires_grad = True
        self.frozen = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x))).mean(dim=(2, 3))


@MODELS.register_module()
class ToyPoseModel(BaseModel):
    """Backbone, dropout and a linear head regressing a 3-vector with an MSE loss.

    Args:
        raise_on_calls: ``{forward call index: exception class name}`` — the loss-mode
            forward raises that exception on that call (0-based), to test batch skipping.
        nonfinite_on_calls: loss-mode forward calls whose loss is replaced by NaN.
    """

    def __init__(self, raise_on_calls: dict | None = None,
                 nonfinite_on_calls: list | None = None) -> None:
        super().__init__()
        self.backbone = ToyBackbone()
        self.dropout = nn.Dropout(0.5)
        self.head = nn.Linear(4, 3)
        self.raise_on_calls = {int(k): v for k, v in (raise_on_calls or {}).items()}
        self.nonfinite_on_calls = set(nonfinite_on_calls or [])
        self.loss_calls = 0

    def forward(self, inputs: torch.Tensor, data_samples: torch.Tensor | None = None,
                mode: str = 'tensor'):
        pred = self.head(self.dropout(self.backbone(inputs)))
        if mode == 'loss':
            call, self.loss_calls = self.loss_calls, self.loss_calls + 1
            if call in self.raise_on_calls:
                error = self.raise_on_calls[call]
                raise INJECTABLE_ERRORS[error](f'injected {error} at loss call {call}')
            loss = ((pred - data_samples) ** 2).mean()
            if call in self.nonfinite_on_calls:
                loss = loss * float('nan')
            return dict(loss=loss)
        if mode == 'predict':
            return [dict(pred=p, gt=g) for p, g in zip(pred.detach(), data_samples)]
        return pred


@DATASETS.register_module()
class ToyPoseDataset(Dataset):
    """Fixed random inputs ``(2, 8, 8)`` and targets ``(3,)``; ``__getitem__`` adds noise drawn
    from the global numpy RNG (like an augmentation) so that RNG state matters on resume."""

    def __init__(self, num_samples: int = 8, seed: int = 0, augment: bool = True) -> None:
        rng = np.random.default_rng(seed)
        self.inputs = rng.normal(size=(num_samples, 2, 8, 8)).astype(np.float32)
        self.targets = rng.normal(size=(num_samples, 3)).astype(np.float32)
        self.augment = augment

    @property
    def metainfo(self) -> dict:
        return dict(name='toy')

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> dict:
        inputs = self.inputs[index].copy()
        if self.augment:
            inputs += np.float32(np.random.uniform(-0.1, 0.1))
        return dict(inputs=torch.from_numpy(inputs), data_samples=torch.from_numpy(
            self.targets[index].copy()))


@METRICS.register_module()
class ToyMSEMetric(BaseMetric):
    """Mean squared error of the toy predictions."""

    default_prefix = 'toy'

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            self.results.append(float(((sample['pred'] - sample['gt']) ** 2).mean()))

    def compute_metrics(self, results: list) -> dict:
        return dict(mse=float(np.mean(results)))


@HOOKS.register_module()
class ToyRecorderHook(Hook):
    """Records what the engine tests check, and can stop training early (a simulated crash).

    Records the backbone's state (parameters and BatchNorm buffers) before training and after
    every epoch, and for every completed iteration the BatchNorm ``training`` flag and the
    learning rates of the backbone and head parameter groups it used.

    Args:
        stop_after_epochs: Stop training once this many epochs have run (checkpoints of
            that epoch are written first).
    """

    priority = 'VERY_LOW'

    def __init__(self, stop_after_epochs: int | None = None) -> None:
        self.stop_after_epochs = stop_after_epochs
        self.backbone_states: list[dict] = []
        self.bn_training: list[tuple[int, bool]] = []
        self.lrs: list[tuple[float, float]] = []

    @staticmethod
    def _model(runner) -> nn.Module:
        return getattr(runner.model, 'module', runner.model)

    def _record_backbone(self, runner) -> None:
        state = self._model(runner).backbone.state_dict()
        self.backbone_states.append({k: v.detach().clone() for k, v in state.items()})

    def before_train(self, runner) -> None:
        self._record_backbone(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        model = self._model(runner)
        self.bn_training.append((runner.epoch, model.backbone.bn.training))
        self.lrs.append(self._pending_lrs)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        # The rates this iteration uses (ParamSchedulerHook updates them after it).
        model = self._model(runner)
        group_lr = {id(p): group['lr'] for group in runner.optim_wrapper.optimizer.param_groups
                    for p in group['params']}
        self._pending_lrs = (group_lr[id(model.backbone.conv.weight)],
                             group_lr[id(model.head.weight)])

    def after_train_epoch(self, runner) -> None:
        self._record_backbone(runner)
        if self.stop_after_epochs is not None and runner.epoch + 1 >= self.stop_after_epochs:
            runner.train_loop.stop_training = True


def _loader(num_samples: int, shuffle: bool, batch_size: int = 2) -> dict:
    return dict(batch_size=batch_size, num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=shuffle),
                collate_fn=dict(type='default_collate'),
                dataset=dict(type='ToyPoseDataset', num_samples=num_samples))


def toy_config(work_dir: str | Path, max_epochs: int = 2, num_samples: int = 8,
               val: bool = True, **overrides) -> dict:
    """A complete runnable config (plain dict) using every sparkpose engine component.

    Each config gets its own ``experiment_name``: mmengine keys its MessageHub, logger and
    visualizer instances by it, and two runners built in the same second would share them.
    """
    cfg = dict(
        experiment_name=f'toy-{uuid.uuid4().hex[:8]}',
        default_scope='sparkpose',
        runner_type='SparkposeRunner',
        work_dir=str(work_dir),
        model=dict(type='ToyPoseModel'),
        train_dataloader=_loader(num_samples, shuffle=True),
        train_cfg=dict(type='SkipErrorEpochBasedTrainLoop', max_epochs=max_epochs,
                       val_interval=1),
        optim_wrapper=dict(
            type='SkipNonFiniteOptimWrapper',
            constructor='AllParamsOptimWrapperConstructor',
            optimizer=dict(type='AdamW', lr=1e-2, weight_decay=1e-2),
            paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}),
            clip_grad=dict(max_norm=0.5)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
                 convert_to_iter_based=True),
            # eta_min_ratio, not eta_min: an absolute floor would pull the backbone's and the
            # head's learning rates together and break the 0.1x ratio.
            dict(type='CosineAnnealingLR', by_epoch=True, begin=1, T_max=max_epochs - 1,
                 eta_min_ratio=0.01)],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1, save_last=True,
                            max_keep_ckpts=2, save_best='toy/mse', rule='less'),
            random_state=dict(type='RandomStateHook')),
        custom_hooks=[dict(type='StagedUnfreezeHook', frozen_epochs=1),
                      dict(type='ToyRecorderHook')],
        find_unused_parameters=True,
        randomness=dict(seed=0, deterministic=True),
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo')),
        log_level='WARNING',
    )
    if val:
        cfg.update(val_dataloader=_loader(4, shuffle=False), val_cfg=dict(type='ValLoop'),
                   val_evaluator=dict(type='ToyMSEMetric'),
                   test_dataloader=_loader(4, shuffle=False), test_cfg=dict(type='TestLoop'),
                   test_evaluator=dict(type='ToyMSEMetric'))
    else:
        cfg['default_hooks']['checkpoint'].pop('save_best')
        cfg['default_hooks']['checkpoint'].pop('rule')
    cfg.update(copy.deepcopy(overrides))
    return cfg


def build_runner(cfg: dict):
    """Build the runner a config names (``runner_type``), as tools/train.py does."""
    return RUNNERS.build(Config(cfg))


def find_hook(runner, hook_type: type):
    """The runner's hook of type ``hook_type``."""
    return next(hook for hook in runner.hooks if isinstance(hook, hook_type))


@pytest.fixture
def keep_torch_determinism():
    """``randomness.deterministic`` switches torch's deterministic mode process-wide: undo it."""
    enabled = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(enabled)
