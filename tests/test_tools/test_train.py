"""tools/train.py (and tools/test.py after it) end to end on the toy config, in subprocesses."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_toy import toy_config
from mmengine.config import Config

from sparkpose.engine import amp_device_available

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / 'tools'


def _write_config(tmp_path: Path, **overrides) -> Path:
    cfg = toy_config(tmp_path / 'unused', max_epochs=2, **overrides)
    del cfg['work_dir']  # the tools choose it
    cfg['custom_imports'] = dict(imports=['engine_toy'], allow_failed_imports=False)
    path = tmp_path / 'toy_config.py'
    Config(cfg).dump(str(path))
    return path


def _run(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO / 'tests'), os.environ.get('PYTHONPATH', '')]))  # engine_toy
    return subprocess.run([sys.executable, str(TOOLS / tool), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.mark.slow
def test_train_resume_and_test(tmp_path):
    config = _write_config(tmp_path)
    work_dir = tmp_path / 'work'
    _ok(_run('train.py', str(config), '--work-dir', str(work_dir), '--seed', '1',
             '--deterministic', cwd=tmp_path))
    assert {'epoch_1.pth', 'epoch_2.pth', 'last_checkpoint'} <= set(os.listdir(work_dir))
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir / 'epoch_2.pth')

    log = _ok(_run('train.py', str(config), '--work-dir', str(work_dir), '--resume',
                   '--cfg-options', 'train_cfg.max_epochs=3', 'log_level=INFO', cwd=tmp_path))
    assert 'resumed epoch: 2, iter: 8' in log
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir / 'epoch_3.pth')
    assert not (work_dir / 'epoch_1.pth').exists()  # max_keep_ckpts=2
    assert [p.name for p in work_dir.glob('best_toy_mse_epoch_*.pth')]

    # The console start-up is short; the log file keeps the environment and config.
    assert 'System environment' not in log and 'Hooks will be executed' not in log
    assert 'FileClient' not in log
    (log_file,) = sorted(work_dir.glob('*/*.log'))[-1:]
    assert 'System environment' in log_file.read_text() and str(log_file) in log

    test_dir = tmp_path / 'test'
    test_log = _ok(_run('test.py', str(config), str(work_dir / 'epoch_3.pth'), '--work-dir',
                        str(test_dir), '--cfg-options', 'log_level=INFO', cwd=tmp_path))
    (metrics_file,) = test_dir.glob('*/metrics.json')
    assert f'Metrics written to {metrics_file}' in test_log
    report = json.loads(metrics_file.read_text())
    assert report['checkpoint'] == str(work_dir / 'epoch_3.pth')
    assert 0 < report['metrics']['toy/mse'] < 100


@pytest.mark.skipif(amp_device_available(), reason='tests the CPU-only fallback')
def test_train_amp_on_cpu_falls_back_once_in_default_work_dir(tmp_path):
    config = _write_config(tmp_path, val=False)
    log = _ok(_run('train.py', str(config), '--amp', '--amp-dtype', 'bfloat16', cwd=tmp_path))
    assert log.count('was requested but no GPU is available: training in float32') == 1
    assert (tmp_path / 'work_dirs' / 'toy_config' / 'epoch_2.pth').is_file()


def test_train_names_a_misspelt_override(tmp_path):
    result = _run('train.py', str(_write_config(tmp_path)), '--cfg-options',
                  'train_cfg.max_epoch=3', cwd=tmp_path)
    assert result.returncode != 0
    assert 'train_cfg has no key' in result.stderr
    assert 'did you mean train_cfg.max_epochs' in result.stderr
