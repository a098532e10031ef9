"""Atomic checkpoint saving and safe (never code-executing) checkpoint loading."""
import collections
import os
import pickle
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from engine_toy import (
    ToyPoseDataset,
    build_runner,
    keep_torch_determinism,  # noqa: F401  (fixture)
    toy_config,
)
from mmengine.logging import HistoryBuffer

from sparkpose.engine import (
    UnsafeCheckpointError,
    atomic_write_bytes,
    find_resumable_checkpoint,
    find_unsafe_globals,
    load_checkpoint_safely,
    resume_candidates,
)

pytestmark = pytest.mark.usefixtures('keep_torch_determinism')


class _RunsShell:
    """Unpickling this runs a shell command (the classic malicious checkpoint)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class _CallsGetattr:
    """Unpickling this calls ``getattr(HistoryBuffer, '__init__')``."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A work dir after one epoch of toy training (real mmengine checkpoints)."""
    work_dir = tmp_path_factory.mktemp('trained')
    enabled = torch.are_deterministic_algorithms_enabled()
    cfg = toy_config(work_dir, max_epochs=2, val=False)
    cfg['custom_hooks'][1]['stop_after_epochs'] = 1
    build_runner(cfg).train()
    torch.use_deterministic_algorithms(enabled)
    return work_dir


def test_real_checkpoint_loads_safely(trained):
    checkpoint = load_checkpoint_safely(trained / 'epoch_1.pth', map_location='cpu')
    assert checkpoint['meta']['epoch'] == 1
    assert isinstance(checkpoint['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    assert checkpoint['message_hub']['log_scalars']['train/loss'].mean() > 0
    assert set(checkpoint['random_state']) >= {'epoch', 'python', 'numpy', 'torch'}
    assert find_unsafe_globals(trained / 'epoch_1.pth') == []
    # Without the allow-list, torch 2.6+ refuses mmengine's own checkpoints.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(trained / 'epoch_1.pth', weights_only=True)


@pytest.mark.filterwarnings('ignore:Detected pickle protocol')
@pytest.mark.parametrize('save', ['torch', 'pickle'])
def test_malicious_checkpoint_is_refused_without_side_effect(tmp_path, trained, save):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    payload = {'state_dict': {}, 'meta': _RunsShell(f'touch {marker}')}
    if save == 'torch':
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    runner = build_runner(toy_config(tmp_path / 'work', val=False))
    with pytest.raises(UnsafeCheckpointError) as error:
        runner.load_checkpoint(str(path))
    assert str(path) in str(error.value)
    assert f'{os.system.__module__}.system' in str(error.value)  # posix.system on Linux
    assert not marker.exists()
    runner.load_checkpoint(str(trained / 'epoch_1.pth'))  # a real one still loads


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'gadget.pth'
    torch.save({'x': _CallsGetattr()}, path)
    with pytest.raises(UnsafeCheckpointError, match="getattr.*'__init__'.* is not allowed"):
        load_checkpoint_safely(path)


def test_loading_cannot_replace_history_buffer_statistics(tmp_path, monkeypatch):
    """HistoryBuffer.__setstate__ writes into a class-wide dict; loading must not change it."""
    buffer = HistoryBuffer([1.0, 2.0], [1, 1])
    monkeypatch.setattr(HistoryBuffer, '__getstate__', lambda self: dict(
        self.__dict__, statistics_methods={'mean': collections.OrderedDict}))
    torch.save({'buffer': buffer}, tmp_path / 'poisoned.pth')
    monkeypatch.undo()
    loaded = load_checkpoint_safely(tmp_path / 'poisoned.pth')['buffer']
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean
    assert loaded.mean() == 1.5


def test_unsafe_globals_are_reported(tmp_path):
    torch.save({'root': Path('/data')}, tmp_path / 'path.pth')
    assert [name for name in find_unsafe_globals(tmp_path / 'path.pth') if 'pathlib' in name]


def test_uris_and_missing_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match='only local checkpoint files'):
        load_checkpoint_safely('https://example.com/model.pth')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_safely(tmp_path / 'missing.pth')


def test_truncated_checkpoint_gives_clear_error(tmp_path, trained):
    path = tmp_path / 'truncated.pth'
    path.write_bytes((trained / 'epoch_1.pth').read_bytes()[:2000])
    with pytest.raises(RuntimeError, match='truncated.pth: not a readable checkpoint'):
        load_checkpoint_safely(path)


def test_overwritten_checkpoint_is_called_damaged_not_unsafe(tmp_path):
    path = tmp_path / 'random.pth'
    path.write_bytes(random.Random(0).randbytes(4096))
    with pytest.raises(RuntimeError, match='damaged') as error:
        load_checkpoint_safely(str(path))
    assert not isinstance(error.value, UnsafeCheckpointError)


def test_atomic_write_failure_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / 'latest.pth'
    atomic_write_bytes(b'old', path)

    def fail(fd):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'fsync', fail)
    with pytest.raises(OSError, match='disk full'):
        atomic_write_bytes(b'new' * 1000, path)
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['latest.pth']  # the temporary file was removed


def test_kill_during_save_leaves_previous_checkpoint_loadable(tmp_path, trained):
    """A process killed (SIGKILL) while writing never leaves a corrupt checkpoint behind."""
    path = tmp_path / 'epoch_1.pth'
    path.write_bytes((trained / 'epoch_1.pth').read_bytes())
    script = textwrap.dedent(f'''
        import os, signal
        from sparkpose.engine import atomic_write_bytes
        def die(fd):  # the data is written, not yet renamed: the worst moment to die
            os.kill(os.getpid(), signal.SIGKILL)
        os.fsync = die
        atomic_write_bytes(b'x' * 10_000_000, {str(path)!r})
    ''')
    result = subprocess.run([sys.executable, '-c', script], capture_output=True)
    assert result.returncode == -9
    checkpoint = load_checkpoint_safely(path)
    assert checkpoint['meta']['epoch'] == 1


def test_runner_save_failure_keeps_latest_checkpoint(tmp_path, monkeypatch):
    work_dir = tmp_path / 'work'
    build_runner(toy_config(work_dir, max_epochs=2, val=False,
                            custom_hooks=[dict(type='ToyRecorderHook', stop_after_epochs=1)])
                 ).train()
    assert find_resumable_checkpoint(str(work_dir)) == str(work_dir / 'epoch_1.pth')

    def fail(fd):
        raise OSError('killed while saving')

    monkeypatch.setattr(os, 'fsync', fail)
    with pytest.raises(OSError, match='killed while saving'):
        build_runner(toy_config(work_dir, max_epochs=2, val=False, resume=True)).train()
    monkeypatch.undo()
    assert not (work_dir / 'epoch_2.pth').exists()
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir / 'epoch_1.pth')
    assert load_checkpoint_safely(work_dir / 'epoch_1.pth')['meta']['epoch'] == 1


def test_damaged_last_checkpoint_pointer_falls_back_to_newest(tmp_path):
    for name in ('epoch_2.pth', 'epoch_10.pth', 'best_toy_mse_epoch_11.pth'):
        (tmp_path / name).write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text('')  # truncated by a crash
    assert resume_candidates(str(tmp_path)) == [str(tmp_path / 'epoch_10.pth'),
                                                str(tmp_path / 'epoch_2.pth')]
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert resume_candidates(str(tmp_path))[0] == str(tmp_path / 'epoch_2.pth')
    assert find_resumable_checkpoint(str(tmp_path)) is None  # none of them loads
    assert find_resumable_checkpoint(str(tmp_path / 'empty')) is None


def test_runner_reports_a_checkpoint_the_safe_loader_would_refuse(tmp_path, monkeypatch):
    monkeypatch.setattr(ToyPoseDataset, 'metainfo', property(lambda self: {'root': Path('/d')}))
    cfg = toy_config(tmp_path, val=False)
    cfg['custom_hooks'][1]['stop_after_epochs'] = 1
    runner = build_runner(cfg)
    runner.train()
    log = (tmp_path / runner.timestamp / f'{runner.timestamp}.log').read_text()
    assert 'epoch_1.pth contains' in log and 'which the safe loader refuses' in log
    assert 'pathlib' in log
