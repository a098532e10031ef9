"""EventResNet and VoxelCNN built from config: output convention and numbers."""
import pytest
import torch

from sparkpose.registry import MODELS


def test_voxel_cnn_output_shape_and_channels():
    backbone = MODELS.build(dict(type='VoxelCNN', in_channels=10, channels=(8, 16, 32, 64)))
    feats = backbone(torch.randn(2, 10, 128, 96))
    assert isinstance(feats, tuple) and len(feats) == 1
    assert feats[0].shape == (2, 64, 8, 6)
    assert backbone.out_channels == (64,)
    # Last layer is ReLU: features are non-negative and not all zero.
    assert (feats[0] >= 0).all() and feats[0].abs().sum() > 0


def test_event_resnet_stages_and_out_indices():
    backbone = MODELS.build(dict(type='EventResNet', in_channels=4, stem_channels=8,
                                 stage_channels=(8, 16, 32), stage_blocks=(1, 2, 1),
                                 strides=(1, 2, 2), out_indices=(1, 2)))
    feats = backbone(torch.randn(2, 4, 64, 64))
    # Stem /4, then strides 1, 2, 2.
    assert [f.shape for f in feats] == [(2, 16, 8, 8), (2, 32, 4, 4)]
    assert backbone.out_channels == (16, 32)
    assert len(backbone.stages[1]) == 2


def test_event_resnet_default_is_resnet18_layout():
    backbone = MODELS.build(dict(type='EventResNet'))
    assert backbone.out_channels == (512,)
    num_params = sum(p.numel() for p in backbone.parameters())
    # ResNet-18 without its classifier has 11.17M parameters with 3 input channels;
    # 10 channels add 7·64·49 stem weights.
    assert num_params == 11_176_512 + 7 * 64 * 49


@pytest.mark.parametrize('cfg,match', [
    (dict(stage_blocks=(2, 2)), 'same length'),
    (dict(out_indices=(4,)), r'out_indices must lie in \[0, 4\)'),
])
def test_event_resnet_rejects_bad_config(cfg, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='EventResNet', **cfg))
