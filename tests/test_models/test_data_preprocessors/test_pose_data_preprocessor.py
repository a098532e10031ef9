"""PoseDataPreprocessor: stacking, dtype, pass-through of data samples."""
import pytest
import torch

from sparkpose.registry import MODELS
from sparkpose.structures import PoseDataSample


def test_stacks_list_of_inputs_to_float32_batch():
    preprocessor = MODELS.build(dict(type='PoseDataPreprocessor'))
    inputs = [torch.full((2, 3, 4), float(i), dtype=torch.float64) for i in range(3)]
    samples = [PoseDataSample(metainfo=dict(seq_id='RT001', label_index=i)) for i in range(3)]
    out = preprocessor(dict(inputs=inputs, data_samples=samples), training=True)
    assert out['inputs'].shape == (3, 2, 3, 4) and out['inputs'].dtype == torch.float32
    torch.testing.assert_close(out['inputs'][:, 0, 0, 0], torch.tensor([0.0, 1.0, 2.0]))
    assert [s.label_index for s in out['data_samples']] == [0, 1, 2]


def test_accepts_a_batch_tensor_and_missing_samples():
    preprocessor = MODELS.build(dict(type='PoseDataPreprocessor'))
    batch = torch.arange(16, dtype=torch.float16).reshape(1, 1, 4, 4)
    out = preprocessor(dict(inputs=batch))
    torch.testing.assert_close(out['inputs'], batch.float())
    assert out['data_samples'] is None


def test_rejects_mixed_sizes_with_the_shapes():
    preprocessor = MODELS.build(dict(type='PoseDataPreprocessor'))
    with pytest.raises(ValueError, match=r'\(2, 4, 4\), \(2, 8, 8\)'):
        preprocessor(dict(inputs=[torch.zeros(2, 4, 4), torch.zeros(2, 8, 8)]))
