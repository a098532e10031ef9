"""SkipNonFinite(Amp)OptimWrapper: non-finite steps leave everything untouched."""
import copy
import uuid

import pytest
import torch
from engine_toy import build_runner, keep_torch_determinism, toy_config  # noqa: F401
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from sparkpose.engine import NonFiniteLossError, SkipNonFiniteAmpOptimWrapper

SKIPS = 'train/nonfinite_skips'


def _wrapper(model, wrapper_type='SkipNonFiniteOptimWrapper', **kwargs):
    init_default_scope('sparkpose')
    return build_optim_wrapper(model, dict(
        type=wrapper_type, optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.01),
        clip_grad=dict(max_norm=0.5), **kwargs))


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))


def _loss(model):
    return model(torch.ones(2, 3)).pow(2).mean()


def _snapshot(model, wrapper):
    return ([p.detach().clone() for p in model.parameters()],
            copy.deepcopy(wrapper.state_dict()))


def _assert_unchanged(model, wrapper, snapshot):
    params, state = snapshot
    assert all(torch.equal(a, b) for a, b in zip(params, model.parameters()))
    now = wrapper.state_dict()
    assert now['param_groups'] == state['param_groups']
    for key, param_state in state['state'].items():
        for name, value in param_state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(now['state'][key][name]))
    assert {k: v for k, v in now.items() if k not in ('state', 'param_groups')} == \
        {k: v for k, v in state.items() if k not in ('state', 'param_groups')}


@pytest.fixture
def hub():
    # A fresh name each time: ids of temporaries repeat, and get_instance would hand back
    # an earlier test's hub with its counters.
    return MessageHub.get_instance(f'nonfinite-{uuid.uuid4().hex}')


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_nonfinite_loss_leaves_weights_and_optimizer_state_bit_identical(bad, hub):
    model = _model()
    wrapper = _wrapper(model)
    wrapper.message_hub = hub
    wrapper.update_params(_loss(model))  # a real step first: Adam state exists
    snapshot = _snapshot(model, wrapper)

    wrapper.update_params(_loss(model) * bad)

    _assert_unchanged(model, wrapper, snapshot)
    assert all(p.grad is None for p in model.parameters())  # dropped
    assert hub.get_scalar(SKIPS).current() == 1
    assert wrapper.consecutive_nonfinite == 1
    wrapper.update_params(_loss(model))  # training goes on
    assert wrapper.consecutive_nonfinite == 0
    assert not torch.equal(snapshot[0][0], next(model.parameters()))


def test_nonfinite_gradient_with_finite_loss_is_skipped(hub):
    model = _model()
    wrapper = _wrapper(model)
    wrapper.message_hub = hub
    wrapper.update_params(_loss(model))
    snapshot = _snapshot(model, wrapper)
    weight = model[0].weight
    # sqrt'(0) is infinite: a finite loss (0) whose gradient is NaN.
    wrapper.update_params(_loss(model) * 0 + torch.sqrt(weight - weight.detach()).sum())
    _assert_unchanged(model, wrapper, snapshot)
    assert hub.get_scalar(SKIPS).current() == 1


def test_consecutive_nonfinite_steps_stop_training(hub):
    model = _model()
    wrapper = _wrapper(model, max_consecutive_nonfinite=3)
    wrapper.message_hub = hub
    for _ in range(2):
        wrapper.update_params(_loss(model) * float('nan'))
    wrapper.update_params(_loss(model))  # resets the run of bad steps
    for _ in range(2):
        wrapper.update_params(_loss(model) * float('nan'))
    with pytest.raises(NonFiniteLossError, match='3 consecutive training steps were skipped'):
        wrapper.update_params(_loss(model) * float('nan'))
    assert hub.get_scalar(SKIPS).current() == 5


def _cpu_amp_wrapper(model, monkeypatch, hub):
    """AmpOptimWrapper asserts a GPU: let it build, then give it a CPU grad scaler."""
    monkeypatch.setattr('mmengine.optim.optimizer.amp_optimizer_wrapper.is_cuda_available',
                        lambda: True)
    wrapper = _wrapper(model, 'SkipNonFiniteAmpOptimWrapper', dtype='bfloat16')
    assert isinstance(wrapper, SkipNonFiniteAmpOptimWrapper)
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.0 ** 10)
    wrapper.message_hub = hub
    return wrapper


@pytest.mark.filterwarnings('ignore:.*GradScaler')
def test_amp_wrapper_leaves_grad_scaler_untouched(monkeypatch, hub):
    model = _model()
    wrapper = _cpu_amp_wrapper(model, monkeypatch, hub)
    wrapper.update_params(_loss(model))
    snapshot = _snapshot(model, wrapper)
    scaler_state = wrapper.loss_scaler.state_dict()
    assert scaler_state['_growth_tracker'] == 1  # the scaler did run on the finite step

    wrapper.update_params(_loss(model) * float('nan'))

    _assert_unchanged(model, wrapper, snapshot)
    assert wrapper.loss_scaler.state_dict() == scaler_state
    assert hub.get_scalar(SKIPS).current() == 1


@pytest.mark.filterwarnings('ignore:.*GradScaler')
def test_steps_the_grad_scaler_skips_are_counted_with_the_lowered_scale(monkeypatch, hub):
    model = _model()
    wrapper = _cpu_amp_wrapper(model, monkeypatch, hub)
    wrapper.update_params(_loss(model))
    assert 'train/amp_skipped_steps' not in hub.log_scalars
    weight = model[0].weight
    for _ in range(2):  # finite loss, infinite gradient: the scaler skips and halves
        wrapper.update_params(_loss(model) * 0 + torch.sqrt(weight - weight.detach()).sum())
    assert hub.get_scalar('train/amp_skipped_steps').current() == 2
    assert hub.get_scalar('train/loss_scale').current() == 2.0 ** 8
    assert SKIPS not in hub.log_scalars  # the guard did not skip: the scaler did
    wrapper.update_params(_loss(model))
    assert hub.get_scalar('train/amp_skipped_steps').current() == 2


@pytest.mark.filterwarnings('ignore:.*GradScaler')
def test_discard_pending_step_resets_a_half_done_amp_step(monkeypatch, hub):
    """A step that died after unscale_() (e.g. out of memory in clipping) must not poison
    the next one."""
    model = _model()
    wrapper = _cpu_amp_wrapper(model, monkeypatch, hub)
    wrapper._pending_losses.append(_loss(model).detach() * float('nan'))  # a failed batch's
    wrapper.backward(_loss(model))  # scaled by the wrapper
    wrapper.loss_scaler.unscale_(wrapper.optimizer)  # ...and then the step failed
    wrapper.discard_pending_step()
    assert all(p.grad is None for p in model.parameters())
    assert not wrapper._pending_losses  # the failed batch's loss does not veto the next step
    before = model[0].weight.detach().clone()
    wrapper.update_params(_loss(model))
    assert not torch.equal(before, model[0].weight)

    wrapper.backward(_loss(model))  # scaled by the wrapper
    wrapper.loss_scaler.unscale_(wrapper.optimizer)
    wrapper.zero_grad()  # the plain reset is not enough
    with pytest.raises(RuntimeError, match='unscale_'):
        wrapper.update_params(_loss(model))


@pytest.mark.usefixtures('keep_torch_determinism')
def test_runner_stops_with_clear_message(tmp_path):
    cfg = toy_config(tmp_path, max_epochs=2, val=False)
    cfg['model']['nonfinite_on_calls'] = list(range(2, 100))
    cfg['optim_wrapper']['max_consecutive_nonfinite'] = 3
    runner = build_runner(cfg)
    with pytest.raises(NonFiniteLossError, match='the loss is nan'):
        runner.train()
    assert runner.iter == 4  # 2 good steps, 2 skipped steps, the 3rd bad one raised
    assert runner.message_hub.get_scalar(SKIPS).current() == 3


def test_rejects_invalid_limit():
    with pytest.raises(ValueError, match='max_consecutive_nonfinite'):
        _wrapper(_model(), max_consecutive_nonfinite=0)
