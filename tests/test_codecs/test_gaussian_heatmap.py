"""GaussianHeatmap: targets centred on the keypoints, decoded back to sub-cell precision."""
import pytest
import torch

from sparkpose.registry import CODECS


def test_encode_then_decode_gives_the_keypoints_back():
    codec = CODECS.build(dict(type='GaussianHeatmap', sigma=1.0))
    keypoints = torch.tensor([[[10.3, 20.7], [40.0, 5.5], [33.3, 50.1]]])
    size = torch.tensor([[64.0, 64.0]])
    target = codec.encode(keypoints, input_size=size, heatmap_size=(16, 16))
    assert target['heatmaps'].shape == (1, 3, 16, 16)
    torch.testing.assert_close(target['heatmaps'].sum((-2, -1)), torch.ones(1, 3))
    # Stride 4: cell j is centred on pixel 4j + 2.
    torch.testing.assert_close(target['keypoint_cells'], keypoints / 4 - 0.5)
    assert target['keypoint_weights'].tolist() == [[1.0, 1.0, 1.0]]
    pixels, scores = codec.decode(target['heatmaps'].clamp(min=1e-30).log(), input_size=size)
    torch.testing.assert_close(pixels, keypoints, atol=1e-3, rtol=0)
    assert ((scores > 0.5) & (scores <= 1)).all()


def test_bimodal_map_decodes_to_one_mode_and_visibility_weighs():
    codec = CODECS.build(dict(type='GaussianHeatmap'))
    size = torch.tensor([[32.0, 32.0]])
    two = codec.encode(torch.tensor([[[6.0, 6.0], [26.0, 26.0]]]), input_size=size,
                       heatmap_size=(8, 8), visible=torch.tensor([[True, False]]))
    assert two['keypoint_weights'].tolist() == [[1.0, 0.0]]
    logits = (two['heatmaps'][:, :1] + 1.01 * two['heatmaps'][:, 1:]).clamp(min=1e-30).log()
    pixels, _ = codec.decode(logits, input_size=size)
    torch.testing.assert_close(pixels[0, 0], torch.tensor([26.0, 26.0]), atol=1e-3, rtol=0)


def test_missing_geometry_and_bad_sigma_are_named():
    codec = CODECS.build(dict(type='GaussianHeatmap'))
    with pytest.raises(ValueError, match='GaussianHeatmap.decode needs .*input_size'):
        codec.decode(torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match='heatmap_size'):
        codec.encode(torch.zeros(1, 2, 2), input_size=torch.tensor([[8.0, 8.0]]))
    with pytest.raises(ValueError, match='sigma=0'):
        CODECS.build(dict(type='GaussianHeatmap', sigma=0))
