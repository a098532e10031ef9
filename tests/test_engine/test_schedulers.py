"""Learning-rate schedules: warm restarts like PyTorch's, linear warm-up then cosine."""
import math

import pytest
import torch
from engine_toy import (
    ToyRecorderHook,
    build_runner,
    find_hook,
    keep_torch_determinism,  # noqa: F401  (fixture)
    toy_config,
)

from sparkpose.registry import PARAM_SCHEDULERS


def _lrs(make_scheduler, steps: int) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize('T_0, T_mult', [(3, 2), (4, 1), (1, 3)])
def test_warm_restarts_match_torch(T_0, T_mult):
    steps = 40
    expected = _lrs(lambda opt: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=T_0, T_mult=T_mult, eta_min=1e-4), steps)
    actual = _lrs(lambda opt: PARAM_SCHEDULERS.build(dict(
        type='CosineAnnealingWarmRestartsLR', optimizer=opt, T_0=T_0, T_mult=T_mult,
        eta_min=1e-4, end=steps)), steps)
    assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert sum(abs(lr - 0.1) < 1e-12 for lr in actual) > 2  # restarted more than once


def test_warm_restarts_per_iteration_match_torch_with_fractional_epochs():
    epoch_length, epochs = 4, 9
    steps = epoch_length * epochs
    expected = _lrs(lambda opt: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=2 * epoch_length, T_mult=2, eta_min=0.0), steps)
    actual = _lrs(lambda opt: PARAM_SCHEDULERS.build(dict(
        type='CosineAnnealingWarmRestartsLR', optimizer=opt, T_0=2, T_mult=2, end=epochs,
        by_epoch=True, convert_to_iter_based=True), default_args=dict(
            epoch_length=epoch_length)), steps)
    assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_warm_restarts_need_an_end():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match='set `end`'):
        PARAM_SCHEDULERS.build(dict(type='CosineAnnealingWarmRestartsLR', optimizer=optimizer,
                                    T_0=3))


@pytest.mark.usefixtures('keep_torch_determinism')
def test_toy_config_warmup_then_cosine(tmp_path):
    """LinearLR (0.1x to 1x, per iteration, in epoch 1), then cosine (floor 1 %) per epoch."""
    runner = build_runner(toy_config(tmp_path, max_epochs=3, val=False))
    runner.train()
    backbone, head = map(list, zip(*find_hook(runner, ToyRecorderHook).lrs))
    base = 1e-2
    warmup = [base * (0.1 + 0.9 * i / 3) for i in range(4)]  # mmengine: 1x at the last step
    cosine = [base * (0.01 + 0.99 * (1 + math.cos(math.pi * e / 2)) / 2) for e in (0, 1)]
    assert head == pytest.approx(warmup + [cosine[0]] * 4 + [cosine[1]] * 4, rel=1e-9)
    assert backbone == pytest.approx([0.1 * lr for lr in head], rel=1e-9)


def test_warm_restarts_compose_with_an_overlapping_warmup():
    """mmengine's CosineRestartLR resets the absolute rate and undoes a concurrent warm-up."""
    warmup = dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=4)
    restarts = dict(type='CosineAnnealingWarmRestartsLR', T_0=2, T_mult=2, eta_min_ratio=0.01,
                    begin=0, end=12, by_epoch=False)

    def run(configs):
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        schedulers = [PARAM_SCHEDULERS.build(c, default_args=dict(optimizer=optimizer))
                      for c in configs]
        lrs = []
        for _ in range(12):
            lrs.append(optimizer.param_groups[0]['lr'])
            optimizer.step()
            for scheduler in schedulers:
                scheduler.step()
        return lrs

    combined, warmup_only, restarts_only = run([warmup, restarts]), run([warmup]), run([restarts])
    expected = [w * r / 1e-3 for w, r in zip(warmup_only, restarts_only)]
    assert combined == pytest.approx(expected, rel=1e-9)
    assert combined[0] == pytest.approx(1e-5) and max(combined) <= 1e-3
