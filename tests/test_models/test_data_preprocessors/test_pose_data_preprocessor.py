"""PoseDataPreprocessor: stacking, dtype, pass-through of data samples, sparse inputs."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from sparkpose.datasets import pose_collate
from sparkpose.registry import MODELS, TRANSFORMS
from sparkpose.structures import PoseDataSample, SparseInputs


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


def _packed_samples(sparse, with_pose):
    """Voxel grids of clustered events (the last window empty), packed as in a pipeline."""
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=5, input_size=(64, 48)))
    pack = TRANSFORMS.build(dict(type='PackPoseInputs', sparse=sparse))
    rng = np.random.default_rng(0)
    samples = []
    for i, n in enumerate([3000, 500, 0]):
        results = dict(seq_id='RT000', label_index=i, timestamp=i, timestamp_us=100_000,
                       window_us=(0, 100_000), sensor_size=(1280, 720),
                       cam_K=np.diag([1000.0, 1000.0, 1.0]), events=dict(
                           x=rng.integers(500, 700, n), y=rng.integers(300, 400, n),
                           t=np.sort(rng.integers(1, 100_001, n)), p=rng.integers(0, 2, n)))
        if with_pose:
            results.update(gt_t=np.array([0.1 * i, 0.0, 5.0]), gt_q=np.array([0, 0, 0, 1.0]))
        samples.append(pack(voxel(results)))
    return samples


@pytest.mark.parametrize('with_pose', [True, False])
@pytest.mark.parametrize('collate', [pseudo_collate, pose_collate])
def test_sparse_packing_gives_the_dense_batch_bit_for_bit(collate, with_pose):
    preprocessor = MODELS.build(dict(type='PoseDataPreprocessor'))
    dense = preprocessor(pseudo_collate(_packed_samples(False, with_pose)))
    packed = collate(_packed_samples(True, with_pose))
    sparse = preprocessor(packed)
    assert isinstance(packed['inputs'], SparseInputs if collate is pose_collate else list)
    assert sparse['inputs'].dtype == torch.float32 and sparse['inputs'].shape == (3, 10, 48, 64)
    assert torch.equal(sparse['inputs'].view(torch.int32), dense['inputs'].view(torch.int32))
    assert dense['inputs'][0].sum().item() == pytest.approx(3000, rel=1e-5)
    assert dense['inputs'][2].count_nonzero() == 0  # the empty window
    for a, b in zip(dense['data_samples'], sparse['data_samples']):
        assert a.has_gt == b.has_gt == with_pose and a.label_index == b.label_index
        if with_pose:
            assert torch.equal(a.gt_t, b.gt_t) and torch.equal(a.gt_q, b.gt_q)


def test_rejects_a_batch_mixing_sparse_and_dense():
    preprocessor = MODELS.build(dict(type='PoseDataPreprocessor'))
    mixed = [SparseInputs.from_dense(np.ones((2, 4, 4))), torch.ones(2, 4, 4)]
    with pytest.raises(ValueError, match=r"mixes input forms \['SparseInputs', 'Tensor'\]"):
        preprocessor(dict(inputs=mixed))


def test_training_noise_per_sample_on_the_device():
    preprocessor = MODELS.build(dict(type='PoseDataPreprocessor', noise_prob=0.5,
                                     noise_amplitude=0.05))
    inputs = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8).repeat(40, 2, 1, 1)
    torch.manual_seed(0)
    noisy = preprocessor(dict(inputs=inputs), training=True)['inputs'] - inputs
    hit = noisy.flatten(1).amax(1) > 0
    assert 10 < hit.sum() < 30  # about half of the 40 samples
    assert noisy[~hit].abs().max() == 0
    assert noisy[hit].min() >= 0 and noisy[hit].max() < 0.05
    assert (noisy[hit] > 0).float().mean() > 0.99  # every cell, not just the events
    assert noisy[hit].mean().item() == pytest.approx(0.025, rel=0.05)
    assert torch.equal(preprocessor(dict(inputs=inputs))['inputs'], inputs)  # not in eval
    with pytest.raises(ValueError, match='noise_prob <= 1'):
        MODELS.build(dict(type='PoseDataPreprocessor', noise_prob=1.5))
