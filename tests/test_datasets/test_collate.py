"""pose_collate: few tensors per batch, registry lookup, and DataLoader workers with sparse
packing giving exactly the batches of the dense single-process path."""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from sparkpose.datasets import collate, pose_collate
from sparkpose.registry import DATASETS, MODELS
from sparkpose.simulation.spades_writer import write_camera_json, write_split_files
from sparkpose.structures import PoseDataSample, SparseInputs


def _sample(seed, sparse, with_pose=True, shape=(4, 6, 8)):
    rng = np.random.default_rng(seed)
    grid = np.where(rng.random(shape) < 0.1, rng.random(shape), 0).astype(np.float32)
    data_sample = PoseDataSample(metainfo=dict(seq_id='RT000', label_index=seed))
    if with_pose:
        data_sample.gt_t = torch.tensor([seed, 1.0, 5.0])
        data_sample.gt_q = torch.tensor([0.0, 0.0, 0.0, 1.0]) * seed
    inputs = SparseInputs.from_dense(grid) if sparse else torch.from_numpy(grid)
    return dict(inputs=inputs, data_samples=data_sample), grid


@pytest.mark.parametrize('sparse', [False, True])
def test_inputs_become_one_batch_and_gt_rows_of_one_tensor(sparse):
    samples, grids = zip(*[_sample(i, sparse) for i in range(3)])
    batch = pose_collate(list(samples))
    inputs = batch['inputs']
    assert isinstance(inputs, SparseInputs if sparse else torch.Tensor)
    dense = inputs.to_dense() if sparse else inputs
    assert torch.equal(dense, torch.from_numpy(np.stack(grids)))
    gt_t = [s.gt_t for s in batch['data_samples']]
    assert [t[0].item() for t in gt_t] == [0.0, 1.0, 2.0]
    storages = {t.untyped_storage().data_ptr() for t in gt_t}
    assert len(storages) == 1  # one segment per field, not one per sample
    assert [s.label_index for s in batch['data_samples']] == [0, 1, 2]


@pytest.mark.parametrize('sparse', [False, True])
def test_a_workers_batch_travels_as_one_shared_segment(sparse):
    samples, grids = zip(*[_sample(i, sparse) for i in range(4)])
    loader = DataLoader(list(samples), batch_size=4, num_workers=1, collate_fn=pose_collate)
    batch = next(iter(loader))
    inputs = batch['inputs']
    parts = [inputs.offsets, inputs.values, inputs.counts] if sparse else [inputs]
    fields = [s.gt_t for s in batch['data_samples']] + [s.gt_q for s in batch['data_samples']]
    assert len({t.untyped_storage().data_ptr() for t in parts + fields}) == 1
    assert all(t.is_shared() for t in parts + fields)
    dense = inputs.to_dense() if sparse else inputs
    assert torch.equal(dense, torch.from_numpy(np.stack(grids)))
    assert [t[0].item() for t in fields[:4]] == [0.0, 1.0, 2.0, 3.0]


def test_shared_arena_aligns_and_gives_an_overflow_its_own_segment():
    arena = collate._SharedArena(nbytes=10, tensors=2)
    a = arena.empty((3,), dtype=torch.int16)
    b = arena.empty((1,), dtype=torch.float32)
    assert a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
    assert (b.data_ptr() - a.data_ptr()) == collate.ALIGN
    c = arena.empty((100,), dtype=torch.float64)  # beyond what was planned
    assert c.untyped_storage().data_ptr() != a.untyped_storage().data_ptr() and c.is_shared()
    c.fill_(1.0)
    assert c.sum().item() == 100


def test_samples_without_pose_mixed_inputs_and_odd_shapes():
    batch = pose_collate([_sample(i, True, with_pose=False)[0] for i in range(2)])
    assert all(not s.has_gt for s in batch['data_samples']) and len(batch['inputs']) == 2
    with pytest.raises(ValueError, match=r"mixes input forms \['SparseInputs', 'Tensor'\]"):
        pose_collate([_sample(0, True)[0], _sample(1, False)[0]])
    odd = pose_collate([_sample(0, False)[0], _sample(1, False, shape=(4, 6, 9))[0]])
    assert isinstance(odd['inputs'], list)  # left to the preprocessor, which names the shapes
    with pytest.raises(ValueError, match=r'different shapes \[\(4, 6, 8\), \(4, 6, 9\)\]'):
        MODELS.build(dict(type='PoseDataPreprocessor'))(odd)


def test_runner_finds_pose_collate_from_config(spades_root_factory):
    root = spades_root_factory(names=('RT000',))
    with DefaultScope.overwrite_default_scope('sparkpose'):  # as in a Runner
        loader = Runner.build_dataloader(dict(
            batch_size=4, num_workers=0, collate_fn=dict(type='sparkpose.pose_collate'),
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='SPADESDataset', data_root=str(root), split='train.txt',
                         pipeline=[dict(type='EventsToVoxelGrid', num_bins=2,
                                        input_size=(32, 16)),
                                   dict(type='PackPoseInputs', sparse=True)])))
    batch = next(iter(loader))
    assert loader.collate_fn.func is pose_collate
    assert isinstance(batch['inputs'], SparseInputs) and batch['inputs'].shape == (4, 4, 16, 32)


@pytest.mark.parametrize('with_pose', [True, False])
def test_workers_with_sparse_packing_match_dense_single_process(spades_file_factory, tmp_path,
                                                               with_pose):
    root = tmp_path / 'root'
    spades_file_factory('RT000', directory=root, with_pose=with_pose, events_per_label=2000)
    # Events only in label 5's window: the other windows give all-zero grids.
    spades_file_factory('RT001', directory=root, with_pose=with_pose,
                        events=dict(xs=[5, 6], ys=[7, 8], ts=[5500, 5600], ps=[1, 0]))
    write_camera_json(root)
    write_split_files(root, {'train': ['RT000', 'RT001']})

    def batches(sparse, collate, workers):
        dataset = DATASETS.build(dict(
            type='SPADESDataset', data_root=str(root), split='train.txt', test_mode=True,
            pipeline=[dict(type='EventsToVoxelGrid', num_bins=5, input_size=(64, 48)),
                      dict(type='PackPoseInputs', sparse=sparse)]))
        preprocessor = MODELS.build(dict(type='PoseDataPreprocessor'))
        loader = DataLoader(dataset, batch_size=5, num_workers=workers, collate_fn=collate)
        return [preprocessor(batch) for batch in loader]

    reference = batches(False, pseudo_collate, 0)
    got = batches(True, pose_collate, 2)
    assert len(got) == len(reference) == 5
    empty = 0
    for want, have in zip(reference, got):
        assert torch.equal(have['inputs'], want['inputs'])
        empty += int((want['inputs'].flatten(1).abs().sum(1) == 0).sum())
        for a, b in zip(want['data_samples'], have['data_samples']):
            assert (a.seq_id, a.label_index) == (b.seq_id, b.label_index)
            assert a.has_gt == b.has_gt == with_pose
            if with_pose:
                assert torch.equal(a.gt_t, b.gt_t) and torch.equal(a.gt_q, b.gt_q)
    assert empty == 11  # RT001's windows but label 5's


@pytest.mark.parametrize('sparse', [False, True])
@pytest.mark.parametrize('size', [1, 5])
def test_a_batch_carved_from_the_arena_equals_the_plain_one(monkeypatch, sparse, size):
    # The reference is the main process's path, plain torch.empty per tensor.
    samples = [_sample(i, sparse, shape=(3, 5, 7)) for i in range(size)]
    plain = pose_collate(copy.deepcopy([s for s, _ in samples]))
    monkeypatch.setattr(collate, 'get_worker_info', lambda: 'a worker')
    carved = pose_collate(copy.deepcopy([s for s, _ in samples]))
    for ours, reference in zip(_tensors_of(carved, sparse), _tensors_of(plain, sparse),
                               strict=True):
        assert torch.equal(ours, reference)
        assert ours.is_shared() and not reference.is_shared()


def _tensors_of(batch, sparse):
    inputs = batch['inputs']
    parts = [inputs.offsets, inputs.values, inputs.counts] if sparse else [inputs]
    return parts + [s.gt_t for s in batch['data_samples']] + [
        s.gt_q for s in batch['data_samples']]


@pytest.mark.parametrize('nbytes', [0, 1, 4097, 1 << 20])
def test_fresh_shared_memory_is_zeroed_and_writable_with_or_without_the_advice(nbytes):
    storage = collate._new_shared(nbytes)
    assert storage.nbytes() == nbytes and storage.is_shared()
    tensor = torch.empty(0, dtype=torch.uint8).set_(storage)
    assert not tensor.any()
    tensor.fill_(7)
    assert tensor.sum().item() == 7 * nbytes
