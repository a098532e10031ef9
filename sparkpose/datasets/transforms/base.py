"""The base of the random augmentations: the stage check and the ``prob`` coin."""
import numpy as np


class RandomTransform:
    """Applies :meth:`transform` to a sample with probability ``prob``.

    Every augmentation works on one stage of the pipeline: ``'events'`` (before the
    representation transform, e.g. flips that must move events, not pixels) or
    ``'inputs'`` (after it). A transform in the wrong place raises on every sample, not
    only when its coin comes up.

    Randomness comes from numpy's global RNG (``np.random.rand`` & co.) on purpose:
    mmengine's dataloader ``worker_init_fn`` seeds it per worker from the run's seed, the
    worker id and the rank, so seeded runs are reproducible and workers draw different
    numbers. A ``np.random.Generator`` held by the transform would be copied, in the same
    state, into every worker instead.

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
        if np.random.rand() < self.prob:
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


def sample_name(results: dict) -> str:
    """``'RT000[12]'`` for error messages: sequence id and label index when known."""
    return f"{results.get('seq_id', '?')}[{results.get('label_index', '?')}]"
