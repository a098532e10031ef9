"""Augmentations of the raw event stream: polarity swap and event rate."""
from collections.abc import Sequence

import numpy as np

from sparkpose.registry import TRANSFORMS

from .base import RandomTransform, sample_rng

WINDOW_EVENT_KEYS = ('x', 'y', 't', 'p')


@TRANSFORMS.register_module()
class RandomPolaritySwap(RandomTransform):
    """Swap ON and OFF events (``p → 1 − p``), as if the scene's contrast were inverted.

    Works on the events, before the representation transform, rather than on channel
    halves of ``inputs``: then it holds for every representation, whatever its channel
    layout, and sits with the other event augmentations. For the two-polarity voxel grid
    and the event frame the effect is exactly a swap of the channel halves.

    Args:
        prob: Probability of swapping.
    """

    def __init__(self, prob: float = 0.3) -> None:
        super().__init__(prob)

    def transform(self, results: dict) -> dict:
        """Replace ``events['p']`` (0/1) by ``1 − p``."""
        events = results['events']
        p = np.asarray(events['p'])
        results['events'] = {**events, 'p': (1 - p).astype(p.dtype, copy=False)}
        return results


@TRANSFORMS.register_module()
class RandomEventDensity(RandomTransform):
    """Scale the window's event rate at random and add uniform noise events.

    Narrows the gap between sensors and simulators: recorded windows hold about 6× fewer
    events than synthetic ones, lower contrast thresholds give more, and real sensors fire
    background noise. The rate factor ``r`` is drawn log-uniformly from ``keep_fraction``
    (each halving or doubling equally likely); each event is then kept ``⌊r⌋`` times plus
    once more with probability ``r − ⌊r⌋`` (``r < 1`` thins, ``r > 1`` duplicates events
    in place, as a more sensitive sensor would fire more events at the same edges). Then
    ``round(noise · n_kept)`` noise events are added, with ``noise`` uniform in
    ``noise_fraction``, at uniform pixels of the sensor, uniform integer times in the
    window ``(t_start, t_end]`` and random polarities. Noise is counted relative to the
    kept events so that the signal-to-noise ratio does not depend on the rate. The events
    stay sorted by ``t``. Must come before the representation transform.

    Args:
        prob: Probability of applying the augmentation.
        keep_fraction: ``(low, high)`` range of the rate factor, ``0 < low <= high``.
        noise_fraction: ``(low, high)`` range of the noise count relative to the kept
            events, ``0 <= low <= high``.
    """

    def __init__(self, prob: float = 0.5, keep_fraction: Sequence[float] = (0.125, 1.0),
                 noise_fraction: Sequence[float] = (0.0, 0.1)) -> None:
        super().__init__(prob)
        if len(keep_fraction) != 2 or not 0 < keep_fraction[0] <= keep_fraction[1]:
            raise ValueError(f'RandomEventDensity: keep_fraction must be (low, high) with '
                             f'0 < low <= high, got {keep_fraction!r}')
        if len(noise_fraction) != 2 or not 0 <= noise_fraction[0] <= noise_fraction[1]:
            raise ValueError(f'RandomEventDensity: noise_fraction must be (low, high) with '
                             f'0 <= low <= high, got {noise_fraction!r}')
        self.keep_fraction = tuple(float(v) for v in keep_fraction)
        self.noise_fraction = tuple(float(v) for v in noise_fraction)

    def transform(self, results: dict) -> dict:
        """Replace ``events`` by the rescaled, noise-augmented events (new arrays)."""
        events = {k: np.asarray(results['events'][k]) for k in WINDOW_EVENT_KEYS}
        rng = sample_rng(results)
        rate = np.exp(rng.uniform(*np.log(self.keep_fraction)))
        copies = int(rate) + (rng.random(len(events['t'])) < rate - int(rate))
        # One index for the four arrays, then take(): cheaper than repeating each array.
        index = np.repeat(np.arange(len(copies)), copies)
        kept = {k: v.take(index) for k, v in events.items()}
        num_noise = int(round(rng.uniform(*self.noise_fraction) * len(kept['t'])))
        width, height = (int(s) for s in results['sensor_size'])
        t_start, t_end = (int(v) for v in results['window_us'])
        noise = dict(x=rng.integers(0, width, num_noise),
                     y=rng.integers(0, height, num_noise),
                     t=np.sort(rng.integers(t_start + 1, t_end + 1, num_noise)),
                     p=rng.integers(0, 2, num_noise))
        # Inserting sorted noise after kept events of equal or earlier time keeps t sorted
        # in O(N), without re-sorting the window.
        at = np.searchsorted(kept['t'], noise['t'], side='right')
        results['events'] = {
            **results['events'],
            **{k: np.insert(kept[k], at, noise[k].astype(kept[k].dtype))
               for k in WINDOW_EVENT_KEYS}}
        return results
