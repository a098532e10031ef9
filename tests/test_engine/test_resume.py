"""Resuming restores model, optimizer, schedulers, epoch, unfreeze state and RNG: bit-identical."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from engine_toy import (
    ToyPoseDataset,
    ToyRecorderHook,
    build_runner,
    find_hook,
    keep_torch_determinism,  # noqa: F401  (fixture)
    toy_config,
)
from torch.utils.data import DataLoader

from sparkpose.engine import (
    RandomStateHook,
    enable_amp,
    get_random_state,
    load_checkpoint_safely,
    seed_worker,
    set_random_state,
)

pytestmark = pytest.mark.usefixtures('keep_torch_determinism')


def _config(work_dir, stop_after_epochs=None, rng_hook=True, resume=False):
    # 4 epochs, backbone frozen for 3 (so the resumed half unfreezes it), validation after
    # every epoch (it draws from torch's RNG), dropout and a numpy "augmentation".
    cfg = toy_config(work_dir, max_epochs=4, resume=resume)
    cfg['custom_hooks'][0]['frozen_epochs'] = 3
    cfg['custom_hooks'][1]['stop_after_epochs'] = stop_after_epochs
    if not rng_hook:
        cfg['default_hooks'].pop('random_state')
    return cfg


def _train_interrupted_then_resumed(work_dir, rng_hook=True):
    first = build_runner(_config(work_dir, stop_after_epochs=2, rng_hook=rng_hook))
    first.train()
    assert first.epoch == 2
    resumed = build_runner(_config(work_dir, rng_hook=rng_hook, resume=True))
    resumed.train()
    return resumed


def _assert_same_tensors(a: dict, b: dict) -> None:
    """Equal keys and bit-identical values, wherever each tensor lives.

    On a GPU a resumed run's optimizer ``step`` counters come back on the device the
    checkpoint was mapped to, while a straight run keeps them on the CPU (torch leaves
    non-capturable ``step`` where it is loaded), so values are compared on the CPU.
    """
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(torch.as_tensor(a[key]).cpu(), torch.as_tensor(b[key]).cpu()), key


def test_resumed_training_is_bit_identical_to_straight_training(tmp_path):
    straight = build_runner(_config(tmp_path / 'straight'))
    straight.train()
    resumed = _train_interrupted_then_resumed(tmp_path / 'resumed')

    assert resumed.epoch == straight.epoch == 4 and resumed.iter == straight.iter == 16
    _assert_same_tensors(straight.model.state_dict(), resumed.model.state_dict())
    straight_optim, resumed_optim = (r.optim_wrapper.state_dict() for r in (straight, resumed))
    assert straight_optim['param_groups'] == resumed_optim['param_groups']  # lr schedule too
    for index, state in straight_optim['state'].items():
        _assert_same_tensors(state, resumed_optim['state'][index])
    for a, b in zip(straight.param_schedulers, resumed.param_schedulers):
        assert a.state_dict() == b.state_dict()
    # The resumed run saw the backbone frozen in epoch 3 and unfrozen in epoch 4.
    recorder = find_hook(resumed, ToyRecorderHook)
    assert [training for _, training in recorder.bn_training] == [False] * 4 + [True] * 4
    assert resumed.message_hub.get_info('best_ckpt') == straight.message_hub.get_info(
        'best_ckpt').replace('straight', 'resumed')


def test_without_random_state_hook_resume_diverges(tmp_path):
    """Control: the RNG restore is what makes the runs identical (dropout, augmentation)."""
    straight = build_runner(_config(tmp_path / 'straight', rng_hook=False))
    straight.train()
    resumed = _train_interrupted_then_resumed(tmp_path / 'resumed', rng_hook=False)
    assert not torch.equal(straight.model.head.weight, resumed.model.head.weight)


def test_random_state_round_trip_is_weights_only_loadable(tmp_path):
    state = get_random_state()
    expected = (random.random(), np.random.rand(), torch.rand(1))
    torch.save({'random_state': state}, tmp_path / 'rng.pth')
    set_random_state(load_checkpoint_safely(tmp_path / 'rng.pth')['random_state'])
    assert (random.random(), np.random.rand(), torch.rand(1)) == expected


def test_states_loaded_for_another_epoch_are_ignored():
    """load_from (fine-tuning) brings a checkpoint's RNG states, tagged with its epoch."""
    hook = RandomStateHook()
    hook.after_load_checkpoint(None, {'random_state': dict(epoch=30, **get_random_state())})
    expected = torch.rand(1)  # the generators move on...
    hook.before_train_epoch(SimpleNamespace(epoch=0, cfg={}))  # ...and are not rewound
    assert not torch.equal(torch.rand(1), expected)


def _augmentation_noise(loader, dataset) -> list[float]:
    """The noise ToyPoseDataset's worker added to the first sample of each batch."""
    return [float(batch['inputs'][0, 0, 0, 0] - dataset.inputs[i * 4, 0, 0, 0])
            for i, batch in enumerate(loader)]


def test_seed_worker_gives_new_streams_each_epoch_reproducible_from_main_state():
    dataset = ToyPoseDataset(num_samples=8)
    loader = DataLoader(dataset, batch_size=4, num_workers=2, worker_init_fn=seed_worker)
    torch.manual_seed(0)
    first = _augmentation_noise(loader, dataset)
    state = torch.get_rng_state()
    second = _augmentation_noise(loader, dataset)
    assert first != second  # mmengine's default worker seeding repeats every epoch
    torch.set_rng_state(state)
    assert _augmentation_noise(loader, dataset) == second


def test_resume_with_dataloader_workers_is_bit_identical(tmp_path):
    def config(work_dir, **kwargs):
        cfg = _config(work_dir, **kwargs)
        cfg['train_dataloader'].update(num_workers=2, persistent_workers=False,
                                       worker_init_fn=dict(type='sparkpose.seed_worker'))
        return cfg

    straight = build_runner(config(tmp_path / 'straight'))
    straight.train()
    build_runner(config(tmp_path / 'resumed', stop_after_epochs=2)).train()
    resumed = build_runner(config(tmp_path / 'resumed', resume=True))
    resumed.train()
    _assert_same_tensors(straight.model.state_dict(), resumed.model.state_dict())


@pytest.mark.cuda
@pytest.mark.filterwarnings('ignore:.*GradScaler')
def test_fp16_grad_scaler_state_survives_resume(tmp_path):
    """Loss scale and growth tracker resume with the optimizer: the runs stay identical."""
    def config(work_dir, **kwargs):
        cfg = _config(work_dir, **kwargs)
        cfg['optim_wrapper'] = enable_amp(cfg['optim_wrapper'], 'float16')
        # A scale that overflows float16 gradients (the first steps are skipped and halve
        # it) and a short growth interval (clean steps double it): the state moves before
        # the interruption, whatever the gradients' size on the device.
        cfg['optim_wrapper']['loss_scale'] = dict(init_scale=2.0 ** 40, growth_interval=3)
        return cfg

    straight = build_runner(config(tmp_path / 'straight'))
    straight.train()
    first = build_runner(config(tmp_path / 'resumed', stop_after_epochs=2))
    first.train()
    halfway = first.optim_wrapper.loss_scaler.state_dict()
    resumed = build_runner(config(tmp_path / 'resumed', resume=True))
    resumed.train()
    assert halfway['scale'] < 2.0 ** 40  # it ran: overflowing steps were skipped
    assert resumed.optim_wrapper.loss_scaler.state_dict() == \
        straight.optim_wrapper.loss_scaler.state_dict()
    _assert_same_tensors(straight.model.state_dict(), resumed.model.state_dict())
