"""--compile: tools/train.py sets ``compile`` and SparkposeRunner compiles the model's forward."""
import sys

import pytest
import torch
from engine_toy import (
    build_runner,
    keep_torch_determinism,  # noqa: F401  (fixture)
    toy_config,
)
from mmengine.config import Config


def test_compile_flag_is_off_by_default_and_reaches_the_config(load_tool, monkeypatch):
    train = load_tool('train.py')
    for argv, expected in ((['cfg.py'], None), (['cfg.py', '--compile'], True)):
        monkeypatch.setattr(sys, 'argv', ['train.py', *argv])
        cfg = train.merge_args(Config(dict(work_dir='w')), train.parse_args())
        assert cfg.get('compile') == expected


@pytest.mark.usefixtures('keep_torch_determinism')
def test_compiled_forward_trains_like_the_eager_one(tmp_path):
    runners = []
    for name, compile_cfg in (('eager', None), ('compiled', dict(backend='eager'))):
        cfg = toy_config(tmp_path / name, max_epochs=2, val=False)
        if compile_cfg:
            cfg['compile'] = compile_cfg
        runner = build_runner(cfg)
        runner.train()
        runners.append(runner)
    eager, compiled = runners
    assert eager.model._compiled_call_impl is None
    assert compiled.model._compiled_call_impl is not None  # nn.Module.compile: same names
    assert eager.model.state_dict().keys() == compiled.model.state_dict().keys()
    for key, value in eager.model.state_dict().items():
        torch.testing.assert_close(compiled.model.state_dict()[key], value)
