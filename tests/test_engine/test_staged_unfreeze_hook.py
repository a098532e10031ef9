"""StagedUnfreezeHook + AllParamsOptimWrapperConstructor: frozen backbone, then trained."""
import pytest
import torch
from engine_toy import (
    ToyPoseModel,
    ToyRecorderHook,
    build_runner,
    find_hook,
    keep_torch_determinism,  # noqa: F401  (fixture)
    toy_config,
)
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import init_default_scope

from sparkpose.engine import StagedUnfreezeHook
from sparkpose.registry import HOOKS, OPTIM_WRAPPER_CONSTRUCTORS

pytestmark = pytest.mark.usefixtures('keep_torch_determinism')


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_backbone_frozen_for_n_epochs_then_trains(tmp_path):
    cfg = toy_config(tmp_path, max_epochs=4, val=False)
    cfg['custom_hooks'][0]['frozen_epochs'] = 2
    runner = build_runner(cfg)
    runner.train()
    recorder = find_hook(runner, ToyRecorderHook)
    before, epoch1, epoch2, epoch3, epoch4 = recorder.backbone_states

    # Frozen epochs 1-2: weights *and* BatchNorm running statistics bit-identical.
    assert _states_equal(before, epoch1) and _states_equal(before, epoch2)
    assert not torch.equal(epoch2['conv.weight'], epoch3['conv.weight'])
    assert not torch.equal(epoch2['bn.running_mean'], epoch3['bn.running_mean'])
    assert not torch.equal(epoch3['conv.weight'], epoch4['conv.weight'])
    # BatchNorm in eval mode in every frozen iteration (despite run_epoch's model.train()).
    assert [training for epoch, training in recorder.bn_training if epoch < 2] == [False] * 8
    assert [training for epoch, training in recorder.bn_training if epoch >= 2] == [True] * 8
    # Differential learning rate: the backbone group runs at 0.1x the head's, throughout.
    ratios = torch.tensor([backbone / head for backbone, head in recorder.lrs])
    assert torch.allclose(ratios, torch.full_like(ratios, 0.1), rtol=1e-12)
    assert all(p.requires_grad for p in runner.model.backbone.parameters())


def test_all_params_constructor_keeps_params_frozen_at_build_time():
    init_default_scope('sparkpose')
    model = ToyPoseModel()
    model.backbone.freeze()  # frozen *before* the optimizer exists
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='AllParamsOptimWrapperConstructor',
        optim_wrapper_cfg=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=0.01)),
        paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)})))
    wrapper = constructor(model)
    lr_of = {id(p): group['lr'] for group in wrapper.optimizer.param_groups
             for p in group['params']}
    assert set(lr_of) == {id(p) for p in model.parameters()}
    assert lr_of[id(model.backbone.conv.weight)] == pytest.approx(0.001)
    assert lr_of[id(model.head.weight)] == pytest.approx(0.01)
    # The flags the model had are restored.
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for p in model.head.parameters())


def test_hook_refuses_optimizer_without_backbone_params(tmp_path):
    cfg = toy_config(tmp_path, max_epochs=2, val=False)
    cfg['optim_wrapper'].pop('constructor')  # mmengine's default constructor...
    runner = build_runner(cfg)
    runner.model.backbone.freeze()  # ...drops parameters frozen when it runs
    with pytest.raises(RuntimeError, match='AllParamsOptimWrapperConstructor'):
        runner.train()


def test_hook_requires_freeze_methods(tmp_path):
    cfg = toy_config(tmp_path, max_epochs=2, val=False)
    cfg['custom_hooks'][0]['module'] = 'head'  # nn.Linear has no freeze()
    with pytest.raises(TypeError, match=r'model.head \(Linear\) has no freeze\(\)'):
        build_runner(cfg).train()


def test_hook_validates_frozen_epochs():
    with pytest.raises(ValueError, match='frozen_epochs'):
        HOOKS.build(dict(type='StagedUnfreezeHook', frozen_epochs=-1))


@pytest.fixture
def single_process_group(tmp_path):
    """A one-process gloo group, so that a real DDP wrapper can be built on the CPU."""
    torch.distributed.init_process_group('gloo', init_method=f'file://{tmp_path}/store',
                                         rank=0, world_size=1)
    yield
    torch.distributed.destroy_process_group()


@pytest.mark.usefixtures('single_process_group')
@pytest.mark.parametrize('find_unused', [False, True])
def test_ddp_needs_find_unused_parameters(tmp_path, find_unused):
    runner = build_runner(toy_config(tmp_path, val=False))
    runner.model = MMDistributedDataParallel(module=runner.model,
                                             find_unused_parameters=find_unused)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    hook = find_hook(runner, StagedUnfreezeHook)
    if find_unused:
        hook.before_train(runner)
    else:
        with pytest.raises(RuntimeError, match='find_unused_parameters=True'):
            hook.before_train(runner)
