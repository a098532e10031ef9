"""A sampler whose indices carry the run's seed and the epoch, for per-sample augmentation.

DataLoader workers get the dataset once (persistent workers keep it for the whole run), so
an epoch set on the dataset in the main process never reaches them; the index they are
handed does. With :class:`SeededSampler` every sample's augmentation draws from
:func:`sample_generator` ``(seed, epoch, index)``: the same numbers whichever worker makes
the sample, however many workers there are, whether they persist, and after a resume.
"""
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
from mmengine.dataset import DefaultSampler

from sparkpose.registry import DATA_SAMPLERS


class SeededIndex(NamedTuple):
    """A dataset index with the seed and epoch its sample's augmentation is drawn from."""

    index: int
    seed: int
    epoch: int


def sample_generator(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` in ``epoch`` of a run seeded with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([seed, epoch, index]))


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """:class:`mmengine.dataset.DefaultSampler` yielding :class:`SeededIndex` instead of ints.

    Same order, length and ``set_epoch`` as ``DefaultSampler`` (the seed is the run's
    ``randomness.seed`` that mmengine passes to samplers). A dataset that understands
    ``SeededIndex`` (:class:`~sparkpose.datasets.SPADESDataset`) seeds each sample's
    transforms from it.
    """

    def __iter__(self) -> Iterator[SeededIndex]:
        for index in super().__iter__():
            yield SeededIndex(int(index), int(self.seed), int(self.epoch))
