"""PackPoseInputs, and a whole training pipeline chained by mmengine's Compose."""
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope

from sparkpose.registry import DATASETS, TRANSFORMS
from sparkpose.structures import PoseDataSample, SparseInputs


def _pack(sample, **cfg):
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=5, input_size=(128, 96)))
    return TRANSFORMS.build(dict(type='PackPoseInputs', **cfg))(voxel(sample))


def test_pack_gives_float_tensors_and_metainfo(make_sample):
    sample = make_sample(1000, seed=1)
    t, q = sample['gt_t'].copy(), sample['gt_q'].copy()
    packed = _pack(sample)
    inputs, data_sample = packed['inputs'], packed['data_samples']
    assert isinstance(inputs, torch.Tensor) and inputs.dtype == torch.float32
    assert inputs.shape == (10, 96, 128)
    assert inputs.sum().item() == pytest.approx(1000, rel=1e-5)
    assert isinstance(data_sample, PoseDataSample) and data_sample.has_gt
    assert data_sample.gt_t.dtype == torch.float32 and data_sample.gt_t.shape == (3,)
    assert data_sample.gt_q.dtype == torch.float32 and data_sample.gt_q.shape == (4,)
    np.testing.assert_allclose(data_sample.gt_t.numpy(), t, rtol=1e-6)
    np.testing.assert_allclose(data_sample.gt_q.numpy(), q, rtol=1e-6, atol=1e-7)
    meta = data_sample.metainfo
    assert (meta['seq_id'], meta['label_index'], meta['timestamp'], meta['timestamp_us']) == (
        'RT007', 50, 51_000, 5_100_000)
    assert meta['input_size'] == (128, 96) and tuple(meta['sensor_size']) == (1280, 720)
    assert meta['flipped'] is False
    np.testing.assert_allclose(meta['cam_K'][0], [1258.6057531097028 * 0.1, 0, 64])


def test_sparse_pack_holds_the_dense_inputs_and_the_same_sample(make_sample):
    dense, sparse = _pack(make_sample(1500, seed=2)), _pack(make_sample(1500, seed=2), sparse=True)
    inputs = sparse['inputs']
    assert isinstance(inputs, SparseInputs) and inputs.shape == (10, 96, 128)
    assert 0 < len(inputs.values) <= 2 * 1500  # an event touches at most two cells
    assert torch.equal(inputs.to_dense().view(torch.int32), dense['inputs'].view(torch.int32))
    assert torch.equal(sparse['data_samples'].gt_q, dense['data_samples'].gt_q)
    assert sparse['data_samples'].metainfo.keys() == dense['data_samples'].metainfo.keys()


@pytest.mark.parametrize('sparse', [False, True])
def test_pack_passes_sparse_representations_through(make_sample, sparse):
    voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', input_size=(128, 96), sparse=True))
    results = voxel(make_sample(1500, seed=2))
    cells = results['inputs']
    packed = TRANSFORMS.build(dict(type='PackPoseInputs', sparse=sparse))(results)
    assert packed['inputs'] is cells


def test_pack_without_pose_has_no_gt_fields(make_sample):
    data_sample = _pack(make_sample(100, with_pose=False))['data_samples']
    assert 'gt_t' not in data_sample and 'gt_q' not in data_sample
    assert not data_sample.has_gt


def test_pack_refuses_missing_inputs_or_meta_keys(make_sample):
    pack = TRANSFORMS.build(dict(type='PackPoseInputs'))
    with pytest.raises(KeyError, match="no 'inputs'"):
        pack(make_sample(10))
    with pytest.raises(KeyError, match=r"lacks meta_keys \['exposure'\]"):
        _pack(make_sample(10), meta_keys=('seq_id', 'exposure'))


TRAIN_PIPELINE = [
    dict(type='RandomHorizontalFlip', prob=0.5),
    dict(type='RandomPolaritySwap', prob=0.3),
    dict(type='RandomEventDensity', prob=0.5),
    dict(type='EventsToVoxelGrid', num_bins=5, input_size=(256, 256)),
    dict(type='PackPoseInputs'),
]


def test_train_pipeline_with_compose_is_seed_reproducible(make_sample):
    with DefaultScope.overwrite_default_scope('sparkpose'):
        pipeline = Compose(TRAIN_PIPELINE)
    runs = []
    for _ in range(2):
        np.random.seed(5)
        runs.append([pipeline(make_sample(2000, seed=i)) for i in range(6)])
    flips = [out['data_samples'].flipped for out in runs[0]]
    assert True in flips and False in flips
    for first, second in zip(*runs):
        assert torch.equal(first['inputs'], second['inputs'])
        assert torch.equal(first['data_samples'].gt_q, second['data_samples'].gt_q)
        assert first['inputs'].shape == (10, 256, 256)


@pytest.mark.parametrize('with_pose', [True, False])
def test_val_pipeline_on_spades_dataset(spades_root_factory, with_pose):
    root = spades_root_factory(with_pose=with_pose, time_unit='us')
    common = dict(type='SPADESDataset', data_root=str(root), split='train.txt',
                  test_mode=not with_pose, time_unit='us')
    raw = DATASETS.build(common)[5]
    packed = DATASETS.build(dict(common, pipeline=TRAIN_PIPELINE[3:]))[5]
    assert len(raw['events']['t']) > 0
    assert packed['inputs'].sum().item() == pytest.approx(len(raw['events']['t']), rel=1e-5)
    assert packed['data_samples'].has_gt == with_pose
    assert packed['data_samples'].seq_id == raw['seq_id']
