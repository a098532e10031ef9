"""SeededSampler: augmentation drawn per (seed, epoch, sample), whatever the loader settings."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from sparkpose.datasets import SeededIndex, SeededSampler, sample_generator
from sparkpose.registry import DATASETS

PIPELINE = [dict(type='CropToTarget', shift_jitter=0.1, scale_jitter=0.2),
            dict(type='RandomEventDensity', prob=0.5),
            dict(type='RandomPolaritySwap', prob=0.5),
            dict(type='EventsToVoxelGrid', num_bins=2, input_size=(16, 16)),
            dict(type='PackPoseInputs')]


def _stack(samples: list[dict]) -> torch.Tensor:
    return torch.stack([sample['inputs'] for sample in samples])


def _batches(dataset, num_workers: int, persistent: bool, epochs: int = 2) -> list:
    sampler = SeededSampler(dataset, shuffle=True, seed=7)
    loader = DataLoader(dataset, batch_size=4, sampler=sampler, num_workers=num_workers,
                        persistent_workers=persistent, collate_fn=_stack)
    batches = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        batches += list(loader)
    return batches


@pytest.fixture
def dataset(spades_root_factory):
    root = spades_root_factory(names=('RT000', 'RT001'), num_labels=6)
    return DATASETS.build(dict(type='SPADESDataset', data_root=str(root), split='train.txt',
                               pipeline=PIPELINE))


def test_same_batches_whatever_the_workers(dataset):
    np.random.seed(123)  # the global state must not matter
    reference = _batches(dataset, 0, False)
    assert len(reference) == 6
    # Epochs differ (new draws), batches within the run differ.
    assert not torch.equal(reference[0], reference[3])
    for num_workers, persistent in [(1, True), (2, True), (2, False)]:
        np.random.seed(num_workers)
        batches = _batches(dataset, num_workers, persistent)
        assert all(torch.equal(a, b) for a, b in zip(reference, batches, strict=True)), \
            (num_workers, persistent)


def test_a_sample_is_augmented_from_its_seed_epoch_and_index(dataset):
    first = dataset[SeededIndex(5, seed=7, epoch=1)]['inputs']
    np.random.seed(0)
    assert torch.equal(dataset[SeededIndex(5, seed=7, epoch=1)]['inputs'], first)
    others = [dataset[SeededIndex(5, 8, 1)], dataset[SeededIndex(5, 7, 2)]]
    assert all(not torch.equal(other['inputs'], first) for other in others)
    # Plain indices fall back to numpy's global state (np.random.seed repeats them).
    np.random.seed(1)
    plain = dataset[5]['inputs']
    np.random.seed(1)
    assert torch.equal(dataset[5]['inputs'], plain)


def test_sampler_keeps_default_order_and_tags_seed_and_epoch(dataset):
    sampler = SeededSampler(dataset, shuffle=True, seed=7)
    sampler.set_epoch(3)
    indices = list(sampler)
    assert {(i.seed, i.epoch) for i in indices} == {(7, 3)}
    assert sorted(i.index for i in indices) == list(range(len(dataset)))
    generator = sample_generator(7, 3, 4)
    assert generator.random() == sample_generator(7, 3, 4).random() != \
        sample_generator(7, 3, 5).random()
