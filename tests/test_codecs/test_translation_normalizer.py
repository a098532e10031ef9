"""TranslationNormalizer: (t - mean) / std and back, dtype and device kept."""
import pytest
import torch

from sparkpose.registry import CODECS


def test_encode_known_values_and_round_trip():
    codec = CODECS.build(dict(type='TranslationNormalizer', mean=(1.0, -2.0, 6.0),
                              std=(0.5, 2.0, 4.0)))
    t = torch.tensor([[2.0, 0.0, 10.0], [1.0, -2.0, 6.0]], dtype=torch.float32)
    encoded = codec.encode(t)
    assert encoded.dtype == torch.float32
    torch.testing.assert_close(encoded, torch.tensor([[2.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    torch.testing.assert_close(codec.decode(encoded), t)
    # The batch geometry every codec is given is ignored.
    camera = dict(cam_K=torch.eye(3).expand(2, 3, 3), input_size=torch.full((2, 2), 64.0))
    torch.testing.assert_close(codec.encode(t, **camera), encoded)


@pytest.mark.parametrize('kwargs, match', [
    (dict(mean=(0.0, 0.0)), 'need 3 values'),
    (dict(std=(1.0, 0.0, 1.0)), 'std must be positive'),
])
def test_rejects_bad_statistics(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CODECS.build(dict(type='TranslationNormalizer', **kwargs))
