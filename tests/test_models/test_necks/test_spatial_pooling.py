import pytest
import torch

from sparkpose.registry import MODELS


def test_spatial_pooling_keeps_where_features_are():
    neck = MODELS.build(dict(type='SpatialPooling', output_size=(2, 2)))
    left, right = torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)
    left[..., :4, :4] = 1.0  # top-left blob
    right[..., :4, 4:] = 1.0  # top-right blob
    (out_left,), (out_right,) = neck((left,)), neck((right,))
    assert out_left.shape == (1, 3 * 2 * 2)
    # Global pooling would make these equal; the 2×2 grid tells them apart.
    assert torch.equal(out_left.view(3, 2, 2)[:, 0, 0], torch.ones(3))
    assert torch.equal(out_right.view(3, 2, 2)[:, 0, 1], torch.ones(3))
    assert not torch.equal(out_left, out_right)


def test_spatial_pooling_rejects_vectors():
    with pytest.raises(ValueError, match=r'SpatialPooling: input 0 has shape \(2, 5\)'):
        MODELS.build(dict(type='SpatialPooling'))((torch.zeros(2, 5),))
