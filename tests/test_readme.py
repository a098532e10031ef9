"""The README works as typed: its component example trains, its commands and flags exist."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / 'README.md').read_text()
CODE_BLOCKS = re.findall(r'```(\w*)\n(.*?)```', README, re.S)


def _python_block(first_line: str) -> str:
    blocks = [code for lang, code in CODE_BLOCKS if lang == 'python'
              and code.startswith(first_line)]
    assert len(blocks) == 1, f'README: expected one python block starting {first_line!r}'
    return blocks[0]


def _tool_commands() -> list[list[str]]:
    """Every ``python tools/...`` line of the README's shell blocks, as argument lists."""
    commands = []
    for lang, code in CODE_BLOCKS:
        if lang != 'bash':
            continue
        for line in code.replace('\\\n', ' ').splitlines():
            line = line.split('  #')[0].strip()
            words = shlex.split(line)
            while words and '=' in words[0]:  # environment assignments
                words.pop(0)
            if len(words) > 1 and words[0] == 'python' and words[1].startswith('tools/'):
                commands.append(words[1:])
    return commands


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, **env))


def _component_project(tmp_path: Path) -> Path:
    """The README's ``my_project`` beside links to the repository's configs/ and tools/."""
    (tmp_path / 'my_project').mkdir()
    for first_line in ('# my_project/my_backbone.py', '# my_project/my_config.py'):
        (tmp_path / first_line[2:]).write_text(_python_block(first_line))
    for name in ('configs', 'tools'):
        (tmp_path / name).symlink_to(REPO / name)
    return tmp_path


def test_component_example_builds_and_predicts(tmp_path):
    root = _component_project(tmp_path)
    script = ('import torch\n'
              'from sparkpose.apis import init_model\n'
              "model = init_model('my_project/my_config.py')\n"
              "assert type(model.backbone).__name__ == 'TinyNet'\n"
              't, q = model.predict_pose(torch.rand(2, 10, 128, 128))\n'
              'assert t.shape == (2, 3) and q.shape == (2, 4)\n'
              "print('ok')\n")
    result = _run(['-c', script], root, PYTHONPATH='.')
    assert result.stdout.strip().endswith('ok'), result.stderr[-3000:]


@pytest.mark.slow
def test_component_example_trains_as_typed(tmp_path, synthetic_root):
    root = _component_project(tmp_path)
    (root / 'data').mkdir()
    (root / 'data' / 'demo').symlink_to(synthetic_root)  # the base config's data_root
    result = _run(['tools/train.py', 'my_project/my_config.py', '--cfg-options',
                   'train_cfg.max_epochs=1', 'train_dataloader.batch_size=4'], root,
                  PYTHONPATH='.')
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert list((root / 'work_dirs' / 'my_config').glob('epoch_1.pth'))


def test_readme_lists_tool_commands():
    scripts = {command[0] for command in _tool_commands()}
    assert {'tools/train.py', 'tools/test.py', 'tools/infer.py'} <= scripts
    for script in scripts:
        assert (REPO / script).is_file(), f'README names {script}, which does not exist'


def test_every_readme_command_and_flag_exists():
    flags_by_script: dict[str, set[str]] = {}
    for script, *args in _tool_commands():
        flags_by_script.setdefault(script, set()).update(
            arg.strip('[]').split('=')[0] for arg in args if arg.strip('[]').startswith('--'))
    for script, flags in sorted(flags_by_script.items()):
        result = _run([script, '--help'], REPO)
        assert result.returncode == 0, f'{script} --help: {result.stderr[-2000:]}'
        missing = sorted(flag for flag in flags if flag not in result.stdout)
        assert not missing, f'README uses {missing} with {script}, whose --help lacks them'
