"""SkipErrorEpochBasedTrainLoop: out-of-memory batches are skipped, other errors are not."""
import pytest
import torch
from engine_toy import (
    ToyRecorderHook,
    build_runner,
    find_hook,
    keep_torch_determinism,  # noqa: F401  (fixture)
    toy_config,
)

from sparkpose.engine import resolve_exception

pytestmark = pytest.mark.usefixtures('keep_torch_determinism')
SKIPPED = 'train/skipped_batches'


def _runner(tmp_path, raise_on_calls: dict, **loop_options):
    cfg = toy_config(tmp_path, max_epochs=2, val=False)  # 4 batches per epoch
    cfg['model']['raise_on_calls'] = raise_on_calls
    cfg['train_cfg'].update(loop_options)
    cfg['custom_hooks'][0]['frozen_epochs'] = 0
    return build_runner(cfg)


def test_out_of_memory_batches_are_skipped_and_the_rest_trained(tmp_path):
    runner = _runner(tmp_path, {1: 'OutOfMemoryError', 6: 'OutOfMemoryError'})
    head_before = runner.model.head.weight.detach().clone()
    runner.train()
    assert runner.epoch == 2
    assert runner.iter == 6  # 8 batches, 2 skipped
    assert runner.message_hub.get_scalar(SKIPPED).current() == 2
    assert len(find_hook(runner, ToyRecorderHook).lrs) == 6  # after_train_iter ran 6 times
    assert not torch.equal(head_before, runner.model.head.weight)
    assert all(p.grad is None for p in runner.model.parameters())  # nothing left behind


def test_other_errors_propagate(tmp_path):
    runner = _runner(tmp_path, {2: 'ValueError'})
    with pytest.raises(ValueError, match='injected ValueError at loss call 2'):
        runner.train()


def test_configured_exception_types_are_skipped(tmp_path):
    runner = _runner(tmp_path, {0: 'RuntimeError', 3: 'OutOfMemoryError'},
                     skip_exceptions=['RuntimeError'])  # OutOfMemoryError is a RuntimeError
    runner.train()
    assert runner.message_hub.get_scalar(SKIPPED).current() == 2


def test_out_of_memory_propagates_when_not_listed(tmp_path):
    runner = _runner(tmp_path, {1: 'OutOfMemoryError'}, skip_exceptions=[])
    with pytest.raises(torch.cuda.OutOfMemoryError):
        runner.train()


def test_too_many_consecutive_failures_stop_training(tmp_path):
    runner = _runner(tmp_path, {i: 'OutOfMemoryError' for i in range(1, 4)},
                     max_consecutive_skips=3)
    with pytest.raises(RuntimeError, match='3 consecutive batches failed'):
        runner.train()


@pytest.mark.parametrize('name, expected', [
    ('OutOfMemoryError', torch.cuda.OutOfMemoryError),
    ('torch.OutOfMemoryError', torch.cuda.OutOfMemoryError),
    ('RuntimeError', RuntimeError),
    ('json.JSONDecodeError', __import__('json').JSONDecodeError),
])
def test_resolve_exception(name, expected):
    assert resolve_exception(name) is expected


def test_resolve_exception_rejects_non_exceptions():
    with pytest.raises(ValueError, match="'print' is not an exception class"):
        resolve_exception('print')
