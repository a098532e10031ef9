"""The base of the random augmentations: the stage check and the ``prob`` coin."""
import numpy as np


class RandomTransform:
    """Applies :meth:`transform` to a sample with probability ``prob``.

    Every augmentation works on one stage of the pipeline: ``'events'`` (before the
    representation transform, e.g. flips that must move events, not pixels) or
    ``'inputs'`` (after it). A transform in the wrong place raises on every sample, not
    only when its coin comes up.

    Randomness comes from the sample's own generator, :func:`sample_rng`: derived from
    (run seed, epoch, sample index) by the dataset, so a sample is augmented the same way
    whichever DataLoader worker makes it and after a resume. Subclasses draw from the
    generator they are given, never from numpy's global state.

    Args:
        prob: Probability of applying the transform, in ``[0, 1]``.
    """

    stage = 'events'

    def __init__(self, prob: float) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'{type(self).__name__}: prob must be in [0, 1], got {prob!r}')
        self.prob = prob

    def __call__(self, results: dict) -> dict:
        """Check the sample, then transform it with probability ``prob``."""
        self.validate(results)
        if sample_rng(results).random() < self.prob:
            results = self.transform(results)
        return results

    def validate(self, results: dict) -> None:
        """Raise if the sample is not at this transform's stage (override to add checks)."""
        name = type(self).__name__
        if self.stage == 'events' and 'inputs' in results:
            raise ValueError(f"{name} works on 'events' and must come before the "
                             f"representation transform (EventsToVoxelGrid, EventsToFrame) "
                             f"in the pipeline; {sample_name(results)} already has 'inputs'")
        if self.stage == 'inputs' and 'inputs' not in results:
            raise ValueError(f"{name} works on 'inputs' and must come after the "
                             f"representation transform (EventsToVoxelGrid, EventsToFrame) "
                             f"in the pipeline; {sample_name(results)} has no 'inputs'")

    def transform(self, results: dict) -> dict:
        """Apply the augmentation unconditionally (subclasses implement this)."""
        raise NotImplementedError


def sample_rng(results: dict) -> np.random.Generator:
    """The sample's generator, ``results['rng']``, which every random transform draws from.

    :class:`~sparkpose.datasets.SPADESDataset` sets it from (seed, epoch, index) when its
    sampler is :class:`~sparkpose.datasets.SeededSampler`. Without one (a transform called
    on its own, another sampler) a generator seeded from numpy's global state is stored, so
    ``np.random.seed`` still makes such calls repeatable.
    """
    if results.get('rng') is None:
        results['rng'] = np.random.default_rng(np.random.randint(0, 2**32, 4, dtype=np.uint64))
    return results['rng']


def sample_name(results: dict) -> str:
    """``'RT000[12]'`` for error messages: sequence id and label index when known."""
    return f"{results.get('seq_id', '?')}[{results.get('label_index', '?')}]"
