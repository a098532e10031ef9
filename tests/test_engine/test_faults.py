"""Fault injection: SIGKILL mid-epoch and mid-save, damaged files, disk full, wrong checkpoints.

The end-to-end tests run ``tools/train.py`` / ``tools/test.py`` in subprocesses on the demo
config (its model and pipeline, persistent workers as shipped) with tiny generated data.
"""
import errno
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from engine_toy import build_runner, toy_config
from mmengine.config import Config
from mmengine.logging import MMLogger

from sparkpose.datasets import SPADESDataset
from sparkpose.datasets.spades_dataset import load_camera
from sparkpose.datasets.spades_reader import SPADESSequence
from sparkpose.engine import atomic_write_bytes, load_checkpoint_safely
from sparkpose.registry import MODELS

REPO = Path(__file__).parents[2]
DEMO_CONFIG = REPO / 'configs' / 'keypoint' / 'kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py'
RESNET_CONFIG = REPO / 'configs' / 'eventresnet' / 'quat_eventresnet_1xb16-30e_spades-1280x720.py'
MAX_EPOCHS = 3


def _env() -> dict:
    path = os.pathsep.join([str(REPO), str(REPO / 'tests' / 'test_engine'), str(REPO / 'tests')])
    return dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS='1')


def _write_config(path: Path, root: Path, num_workers: int, persistent: bool,
                  kill_at: tuple[int, int] | None = None) -> Path:
    """The demo config on ``root``: batch 8, 3 epochs, no validation, optional SIGKILL hook,
    and the data preprocessor's on-device noise (torch's generator must resume too)."""
    hooks = [] if kill_at is None else [dict(type='KillAtIterHook', epoch=kill_at[0],
                                             iteration=kill_at[1])]
    path.write_text(f"""
_base_ = [{str(DEMO_CONFIG)!r}]
custom_imports = dict(imports=['fault_hooks'], allow_failed_imports=False)
model = dict(head=dict(body_model={str(root / 'body.json')!r}),
             data_preprocessor=dict(type='PoseDataPreprocessor', noise_prob=0.5))
train_dataloader = dict(batch_size=8, num_workers={num_workers},
                        persistent_workers={persistent},
                        dataset=dict(data_root={str(root)!r}))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
custom_hooks = {hooks!r}
train_cfg = dict(max_epochs={MAX_EPOCHS}, val_interval=1000)
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(save_best=None))
""")
    return path


def _train(config: Path, work_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, 'tools/train.py', str(config), '--work-dir',
                           str(work_dir), *args], cwd=REPO, env=_env(), capture_output=True,
                          text=True)


def _final_weights(work_dir: Path) -> dict:
    path = work_dir / f'epoch_{MAX_EPOCHS}.pth'
    return load_checkpoint_safely(str(path), map_location='cpu')['state_dict']


def _assert_equal_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    differ = [key for key in a if not torch.equal(a[key], b[key])]
    assert not differ, f'{len(differ)} of {len(a)} tensors differ, e.g. {differ[:3]}'


@pytest.fixture(scope='module')
def straight_weights(synthetic_root, tmp_path_factory) -> dict:
    """Final weights of an uninterrupted run of the demo config with two persistent workers."""
    work = tmp_path_factory.mktemp('straight')
    result = _train(_write_config(work / 'cfg.py', synthetic_root, 2, True), work / 'run')
    assert result.returncode == 0, result.stderr[-3000:]
    return _final_weights(work / 'run')


@pytest.mark.slow
@pytest.mark.parametrize('num_workers, persistent', [(2, True), (0, False), (2, False)])
def test_sigkill_mid_epoch_then_resume_is_bit_identical(synthetic_root, tmp_path,
                                                        straight_weights, num_workers,
                                                        persistent):
    """Killed after iteration 1 of epoch 1 (0-based) and resumed: the same final weights as
    an uninterrupted run, whatever the loader settings."""
    work = tmp_path / 'run'
    killed = _train(_write_config(tmp_path / 'kill.py', synthetic_root, num_workers,
                                  persistent, kill_at=(1, 1)), work)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert (work / 'epoch_1.pth').is_file() and not (work / 'epoch_2.pth').exists()
    resumed = _train(_write_config(tmp_path / 'cfg.py', synthetic_root, num_workers,
                                   persistent), work, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_equal_weights(straight_weights, _final_weights(work))


@pytest.mark.slow
def test_wrong_architecture_checkpoint_is_refused_by_test_py(synthetic_root, tmp_path):
    demo = Config.fromfile(str(DEMO_CONFIG))
    demo.model.head.body_model = str(synthetic_root / 'body.json')
    model = MODELS.build(demo.model)
    checkpoint = tmp_path / 'voxelcnn.pth'
    torch.save(dict(meta=dict(cfg=demo.pretty_text), state_dict=model.state_dict()), checkpoint)
    result = subprocess.run(
        [sys.executable, 'tools/test.py', str(RESNET_CONFIG), str(checkpoint), '--work-dir',
         str(tmp_path / 'test'), '--cfg-options', 'test_dataloader.num_workers=0',
         'test_dataloader.persistent_workers=False',
         f'test_dataloader.dataset.data_root={synthetic_root}'],
        cwd=REPO, env=_env(), capture_output=True, text=True)
    last_line = result.stderr.strip().splitlines()[-1]
    assert result.returncode != 0, 'test.py scored a checkpoint of another architecture'
    assert 'EventResNet' in last_line and 'VoxelCNN' in last_line, last_line
    assert 'backbone.' in last_line and str(checkpoint) in last_line, last_line
    assert not list((tmp_path / 'test').glob('*/metrics.json'))


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    path.write_bytes({'truncated': data[:len(data) // 2], 'zero-byte': b'',
                      'garbage': os.urandom(4096)}[how])


@pytest.mark.parametrize('how', ['truncated', 'zero-byte', 'garbage'])
def test_damaged_h5_file_is_named(spades_root_factory, how):
    root = spades_root_factory(names=('RT000', 'RT001'))
    bad = root / 'RT001.h5'
    _damage(bad, how)
    with pytest.raises(Exception) as info:
        SPADESDataset(data_root=str(root), split='train.txt', index_cache_dir=None)
    assert str(bad) in str(info.value) and 'HDF5' in str(info.value)
    assert info.value.__cause__ is not None  # raised from the library's error


def test_malformed_camera_json_is_named(tmp_path):
    camera = tmp_path / 'camera.json'
    camera.write_text('{"Nu": 1280, "Nv": 720, "cameraMatrix": [[1, 0,')
    with pytest.raises(ValueError, match=str(camera)):
        load_camera(str(camera))


@contextmanager
def logged_warnings(logger: logging.Logger | None = None) -> Iterator[list[str]]:
    """Messages of WARNING and above logged meanwhile through ``logger`` (default: mmengine's
    current one; MMLogger does not propagate to the root logger, so caplog sees nothing)."""
    messages: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logger or MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def test_missing_camera_json_warns_naming_the_assumed_camera(tmp_path):
    with logged_warnings() as warnings:
        size, cam_k = load_camera(str(tmp_path / 'camera.json'))
    assert size == (1280, 720) and cam_k[0, 2] == 640
    assert any('1280x720' in message and str(tmp_path / 'camera.json') in message
               for message in warnings), warnings


def test_disk_full_names_the_checkpoint_and_keeps_the_last_one(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    atomic_write_bytes(b'previous checkpoint', path)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, 'fsync', full)
    with pytest.raises(OSError) as info:
        atomic_write_bytes(b'new checkpoint', path)
    assert str(path) in str(info.value) and 'No space left' in str(info.value)
    assert info.value.errno == errno.ENOSPC
    assert path.read_bytes() == b'previous checkpoint'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']


def test_resume_falls_back_from_a_corrupt_newest_checkpoint(tmp_path):
    build_runner(toy_config(tmp_path, max_epochs=2, val=False)).train()
    newest = tmp_path / 'epoch_2.pth'
    newest.write_bytes(newest.read_bytes()[:1000])  # e.g. a copy cut short
    resumed = build_runner(toy_config(tmp_path, max_epochs=3, val=False, resume=True))
    resumed.train()
    assert resumed.epoch == 3 and resumed.iter == 12  # epochs 2 and 3 ran again


def test_stale_temporary_files_of_interrupted_saves_are_removed(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    stale = tmp_path / '.epoch_3.pth.0123456789ab.tmp'
    stale.write_bytes(b'half a checkpoint')
    other = tmp_path / 'notes.tmp'
    other.write_text('not ours')
    build_runner(toy_config(tmp_path, max_epochs=2, val=False)).train()
    assert not stale.exists() and other.exists()


@pytest.mark.slow
def test_sigkill_during_save_leaves_a_resumable_run(tmp_path):
    """A process killed while writing a checkpoint leaves no partial file under the
    checkpoint's name, and the run resumes from the previous one."""
    code = f"""
import sys, time
sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'tests')!r}]
from sparkpose.engine.checkpoint import atomic_save
from engine_toy import build_runner, toy_config
real_replace = atomic_save.os.replace
def slow_replace(src, dst):
    if dst.endswith('epoch_2.pth'):
        print('SAVING', flush=True)
        time.sleep(60)
    real_replace(src, dst)
atomic_save.os.replace = slow_replace
build_runner(toy_config({str(tmp_path)!r}, max_epochs=3, val=False)).train()
"""
    process = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while process.stdout.readline().strip() != 'SAVING':
        assert time.monotonic() < deadline and process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / 'epoch_2.pth').exists()
    resumed = build_runner(toy_config(tmp_path, max_epochs=3, val=False, resume=True))
    resumed.train()
    assert resumed.epoch == 3
    assert not list(tmp_path.glob('.*.tmp'))


def test_truncated_h5_is_named_by_the_sequence_reader(spades_file_factory):
    """The same check at the level ``infer.py`` uses (one file, no split)."""
    path = spades_file_factory('RT900')
    _damage(path, 'truncated')
    with pytest.raises(Exception, match=str(path)):
        SPADESSequence(path)


def test_unreadable_split_file_is_named(spades_root_factory):
    root = spades_root_factory(names=('RT000',))
    (root / 'train.txt').write_bytes(b'\xff\xfe\x00RT000')
    with pytest.raises(ValueError, match=str(root / 'train.txt')) as info:
        SPADESDataset(data_root=str(root), split='train.txt', index_cache_dir=None)
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


def test_unseeded_sampler_with_persistent_workers_warns(tmp_path):
    cfg = toy_config(tmp_path, max_epochs=2, val=False)
    cfg['train_dataloader'].update(num_workers=1, persistent_workers=True)
    runner = build_runner(cfg)
    with logged_warnings(runner.logger) as warnings:
        runner.train()
    assert any("not bit-identical; use sampler=dict(type='SeededSampler')" in message
               for message in warnings), warnings
