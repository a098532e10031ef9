"""Timestamp jitter of the raw events, as a sensor's timing noise would cause."""
import numpy as np

from sparkpose.datasets.transforms import RandomTransform, sample_rng
from sparkpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomTimeJitter(RandomTransform):
    """Add Gaussian noise to every event time, kept in the window and in time order.

    Works on ``results['events']`` (``t`` in µs, int64) before the representation
    transform, so events move between the voxel grid's time bins. Times stay integers in
    the window ``(t_start, t_end]`` of ``results['window_us']`` (clipped), and all four
    event arrays are reordered together so that ``t`` stays sorted. The pose label is
    unchanged: the events keep their pixels.

    Args:
        prob: Probability of jittering a sample.
        sigma_us: Standard deviation of the noise (µs).
    """

    def __init__(self, prob: float = 0.5, sigma_us: float = 500.0) -> None:
        super().__init__(prob)
        if sigma_us < 0:
            raise ValueError(f'RandomTimeJitter: sigma_us must be >= 0, got {sigma_us!r}')
        self.sigma_us = sigma_us

    def transform(self, results: dict) -> dict:
        """Replace ``events`` by jittered, re-sorted copies."""
        events = {key: np.asarray(value) for key, value in results['events'].items()}
        t_start, t_end = (int(v) for v in results['window_us'])
        noise = np.rint(sample_rng(results).normal(0.0, self.sigma_us, len(events['t'])))
        t = np.clip(events['t'] + noise.astype(np.int64), t_start + 1, t_end)
        order = np.argsort(t, kind='stable')
        results['events'] = {**{key: value[order] for key, value in events.items()},
                             't': t[order].astype(events['t'].dtype, copy=False)}
        return results
