"""TimmBackbone: local RGB weights adapted to N channels, never a network request."""
import socket

import pytest
import timm
import torch

from sparkpose.models.backbones import adapt_input_conv_weight
from sparkpose.registry import MODELS


class NotATensor:
    """An arbitrary object: a weights-only load must refuse to unpickle it."""


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f'network access attempted: {args}')

    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket.socket, 'connect_ex', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)


@pytest.fixture(scope='module')
def rgb_checkpoint(tmp_path_factory):
    """A freshly initialised 3-channel efficientnet_b0 state dict saved to a local file."""
    torch.manual_seed(0)
    state = timm.create_model('efficientnet_b0', pretrained=False, in_chans=3).state_dict()
    path = tmp_path_factory.mktemp('weights') / 'efficientnet_b0_rgb.pth'
    torch.save({'state_dict': state}, path)
    return path, state


def test_adapt_input_conv_weight_averages_and_repeats():
    weight = torch.arange(2 * 3 * 1 * 1, dtype=torch.float32).reshape(2, 3, 1, 1)
    adapted = adapt_input_conv_weight(weight, 5)
    assert adapted.shape == (2, 5, 1, 1)
    torch.testing.assert_close(adapted[:, :, 0, 0], torch.tensor([[1.0] * 5, [4.0] * 5]))


def test_loads_local_rgb_weights_into_n_channel_model(rgb_checkpoint, no_network):
    path, rgb_state = rgb_checkpoint
    backbone = MODELS.build(dict(type='TimmBackbone', model_name='efficientnet_b0',
                                 in_channels=10, pretrained=str(path)))
    state = backbone.model.state_dict()
    expected_stem = rgb_state['conv_stem.weight'].mean(1, keepdim=True).repeat(1, 10, 1, 1)
    torch.testing.assert_close(state['conv_stem.weight'], expected_stem, atol=0, rtol=0)
    for key, value in state.items():
        if key != 'conv_stem.weight':
            torch.testing.assert_close(value, rgb_state[key], atol=0, rtol=0, msg=key)
    assert 'classifier.weight' not in state  # the classifier of the checkpoint is dropped
    feats = backbone.eval()(torch.randn(2, 10, 64, 64))
    assert len(feats) == 1 and feats[0].shape == (2, 1280, 2, 2)
    assert backbone.out_channels == (1280,)


def test_features_only_returns_selected_stages(rgb_checkpoint, no_network):
    path, rgb_state = rgb_checkpoint
    backbone = MODELS.build(dict(type='TimmBackbone', in_channels=4, pretrained=str(path),
                                 features_only=True, out_indices=(3, 4)))
    feats = backbone(torch.randn(1, 4, 64, 64))
    assert [f.shape[1] for f in feats] == [112, 320] and backbone.out_channels == (112, 320)
    torch.testing.assert_close(backbone.model.state_dict()['blocks.0.0.conv_dw.weight'],
                               rgb_state['blocks.0.0.conv_dw.weight'])


def test_refuses_files_that_are_not_plain_weights(rgb_checkpoint, tmp_path, no_network):
    path, rgb_state = rgb_checkpoint
    unsafe = tmp_path / 'unsafe.pth'
    torch.save({'state_dict': rgb_state, 'extra': NotATensor()}, unsafe)
    with pytest.raises(Exception, match='(?i)weights.only|unsupported global'):
        MODELS.build(dict(type='TimmBackbone', pretrained=str(unsafe)))
    with pytest.raises(FileNotFoundError, match='never downloaded'):
        MODELS.build(dict(type='TimmBackbone', pretrained=str(tmp_path / 'missing.pth')))
    with pytest.raises(ValueError, match="lacks .* of 'resnet18'"):
        MODELS.build(dict(type='TimmBackbone', model_name='resnet18', pretrained=str(path)))
