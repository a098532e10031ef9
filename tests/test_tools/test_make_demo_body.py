"""`make demo` walks the SPADES path: it reconstructs the body from the training split and
trains against that; the generator's body.json is only the reference it is compared with."""
import json
import shlex
import subprocess
import sys
from pathlib import Path

from mmengine.config import Config

REPO = Path(__file__).parents[2]


def demo_commands(data: Path, work_dir: Path) -> dict[str, list[str]]:
    """The arguments ``make demo`` gives each tool (``make -n``: printed, not run)."""
    out = subprocess.run(['make', '-n', '-C', str(REPO), 'demo', f'PY={sys.executable}',
                          f'DEMO_DATA={data}', f'DEMO_WORK_DIR={work_dir}'],
                         capture_output=True, text=True, check=True).stdout
    commands = {}
    for line in out.replace('\\\n', ' ').splitlines():
        words = shlex.split(line)
        for tool in ('analysis_tools/reconstruct_body.py', 'tools/train.py',
                     'analysis_tools/compare_to_baseline.py'):
            if any(word.endswith(tool) for word in words):
                commands[tool] = words[[w.endswith(tool) for w in words].index(True) + 1:]
    return commands


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_make_demo_trains_against_the_body_it_reconstructs(synthetic_root, load_tool,
                                                           tmp_path, monkeypatch):
    commands = demo_commands(synthetic_root, tmp_path / 'work')
    reconstruct = commands['analysis_tools/reconstruct_body.py']
    body = option(reconstruct, '--out')
    assert option(reconstruct, '--reference') == str(synthetic_root / 'body.json') != body
    assert option(reconstruct, '--split') == 'train.txt'
    truth = (synthetic_root / 'body.json').read_text()

    # The Makefile's own options on a small generated set: the body is written, the
    # generator's is left alone and only compared with.
    stats = load_tool('analysis_tools/reconstruct_body.py').main(reconstruct)
    assert stats['files'] == 3 and stats['symmetries'] >= 1
    assert {'points_within_3cm', 'keypoint_max_cm', 'symmetries_match'} <= set(stats)
    assert (synthetic_root / 'body.json').read_text() == truth
    reconstructed = json.loads(Path(body).read_text())
    assert reconstructed['boxes'] == [] and reconstructed['points']

    train = load_tool('train.py')
    monkeypatch.setattr(sys, 'argv', ['train.py', *commands['tools/train.py']])
    args = train.parse_args()
    cfg = train.merge_args(Config.fromfile(args.config), args)
    assert cfg.model.head.body_model == cfg.val_evaluator.body_model == body
    assert cfg.custom_hooks[0].body_model == body
    assert option(commands['analysis_tools/compare_to_baseline.py'], '--body-model') == body

