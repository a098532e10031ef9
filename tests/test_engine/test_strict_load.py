"""Strict checkpoint loading: mismatches named with keys and both architectures."""
import pytest
import torch
from engine_toy import build_runner, toy_config
from mmengine.config import Config
from torch import nn

from sparkpose.apis import init_model
from sparkpose.engine import (
    CheckpointMismatchError,
    check_state_dict,
    checkpoint_architecture,
    describe_architecture,
)

MODEL_CFG = dict(type='PoseEstimator', backbone=dict(type='VoxelCNN', channels=(8, 16)),
                 neck=dict(type='FeatureFusion'), head=dict(type='KeypointHeatmapHead'))


def test_architecture_from_config_and_from_checkpoint_text_agree():
    text = Config(dict(model=MODEL_CFG, other=dict(type='X'))).pretty_text
    expected = 'PoseEstimator(backbone=VoxelCNN, neck=FeatureFusion, head=KeypointHeatmapHead)'
    assert describe_architecture(MODEL_CFG) == expected
    assert checkpoint_architecture(dict(meta=dict(cfg=text))) == expected
    # No code is run from the file: calls other than dict(...) are not evaluated.
    assert checkpoint_architecture(dict(meta=dict(cfg="model = __import__('os')"))) is None
    assert checkpoint_architecture(dict(state_dict={})) is None


def test_mismatch_names_missing_unexpected_and_reshaped_keys():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    state = dict(model.state_dict())
    state['0.weight'] = torch.zeros(4, 2)
    del state['1.bias']
    state['extra.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError) as info:
        check_state_dict(model, state, 'ck.pth', 'A(backbone=B)', None)
    message = str(info.value)
    assert message.startswith('ck.pth: checkpoint does not fit the model')
    assert '1 missing (e.g. 1.bias)' in message and '1 unexpected (e.g. extra.weight)' in message
    assert '0.weight (4, 2) vs (3, 2)' in message
    assert 'A(backbone=B)' in message and 'not recorded' in message
    check_state_dict(model, model.state_dict(), 'ck.pth', 'A', None)  # an exact fit passes


def test_runner_load_strict_refuses_and_default_load_from_stays_partial(tmp_path):
    runner = build_runner(toy_config(tmp_path / 'a', val=False))
    state = {k: v for k, v in runner.model.state_dict().items() if not k.startswith('head.')}
    torch.save(dict(state_dict=state), tmp_path / 'backbone.pth')
    strict = build_runner(toy_config(tmp_path / 'b', val=False, load_strict=True))
    with pytest.raises(CheckpointMismatchError, match=r'2 missing \(e.g. head.weight, head.bias'):
        strict.load_checkpoint(str(tmp_path / 'backbone.pth'))
    partial = build_runner(toy_config(tmp_path / 'c', val=False))
    partial.load_checkpoint(str(tmp_path / 'backbone.pth'))  # fine-tuning from a backbone
    assert torch.equal(partial.model.backbone.conv.weight, state['backbone.conv.weight'])


def test_init_model_shares_the_strict_check(tmp_path):
    cfg = Config(dict(default_scope='sparkpose', model=dict(type='ToyPoseModel')))
    state = {k: v for k, v in init_model(cfg).state_dict().items() if k != 'head.bias'}
    torch.save(dict(state_dict=state, meta=dict(cfg=Config(dict(model=MODEL_CFG)).pretty_text)),
               tmp_path / 'ck.pth')
    expected = (r'1 missing \(e.g. head.bias\).*Config model ToyPoseModel\(\), checkpoint '
                r'model PoseEstimator\(backbone=VoxelCNN')
    with pytest.raises(CheckpointMismatchError, match=expected):
        init_model(cfg, tmp_path / 'ck.pth')
