import pytest
import torch

from sparkpose.registry import MODELS


def test_fuses_coarse_maps_onto_the_finest_grid():
    neck = MODELS.build(dict(type='FeatureFusion', in_channels=(4, 8, 16), out_channels=6))
    feats = (torch.rand(2, 4, 16, 16), torch.rand(2, 8, 8, 8), torch.rand(2, 16, 4, 4))
    (out,) = neck(feats)
    assert out.shape == (2, 6, 16, 16)
    # The coarsest map reaches the output: changing it changes the fused map.
    (other,) = neck(feats[:2] + (torch.rand(2, 16, 4, 4),))
    assert not torch.allclose(out, other)


def test_voxelcnn_out_indices_feed_the_neck():
    backbone = MODELS.build(dict(type='VoxelCNN', in_channels=10, channels=(8, 16, 32),
                                 out_indices=(1, 2)))
    feats = backbone(torch.rand(1, 10, 32, 32))
    assert [f.shape[1:] for f in feats] == [(16, 8, 8), (32, 4, 4)]
    assert backbone.out_channels == (16, 32)
    neck = MODELS.build(dict(type='FeatureFusion', in_channels=backbone.out_channels))
    assert neck(feats)[0].shape == (1, 64, 8, 8)


def test_wrong_number_of_maps_names_the_fix():
    neck = MODELS.build(dict(type='FeatureFusion', in_channels=(4, 8)))
    with pytest.raises(ValueError, match='out_indices'):
        neck((torch.rand(1, 4, 8, 8),))
    with pytest.raises(ValueError, match='out_indices'):
        MODELS.build(dict(type='VoxelCNN', channels=(8, 16), out_indices=(2,)))
