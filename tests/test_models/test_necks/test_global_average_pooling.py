"""GlobalAveragePooling neck."""
import pytest
import torch

from sparkpose.registry import MODELS


def test_pools_every_map_over_space():
    neck = MODELS.build(dict(type='GlobalAveragePooling'))
    maps = (torch.arange(8.0).reshape(1, 2, 2, 2), torch.ones(1, 3, 5, 5))
    pooled = neck(maps)
    torch.testing.assert_close(pooled[0], torch.tensor([[1.5, 5.5]]))
    torch.testing.assert_close(pooled[1], torch.ones(1, 3))


def test_rejects_vectors():
    with pytest.raises(ValueError, match=r'input 0 has shape \(1, 2\)'):
        MODELS.build(dict(type='GlobalAveragePooling'))((torch.zeros(1, 2),))
