"""Samples in the dataset's ``results`` format (the data contract), built directly."""
from collections.abc import Callable

import numpy as np
import pytest

from sparkpose.datasets.spades_format import SPADES_CAMERA

SENSOR_SIZE = (SPADES_CAMERA['Nu'], SPADES_CAMERA['Nv'])
CAM_K = np.array(SPADES_CAMERA['cameraMatrix'], dtype=np.float64)


def random_events(rng: np.random.Generator, num_events: int, window_us: tuple[int, int],
                  sensor_size: tuple[int, int] = SENSOR_SIZE) -> dict[str, np.ndarray]:
    """Uniform events in the sensor and the window ``(t_start, t_end]``, sorted by t."""
    return dict(x=rng.integers(0, sensor_size[0], num_events).astype(np.uint16),
                y=rng.integers(0, sensor_size[1], num_events).astype(np.uint16),
                t=np.sort(rng.integers(window_us[0] + 1, window_us[1] + 1, num_events)),
                p=rng.integers(0, 2, num_events).astype(np.uint8))


@pytest.fixture
def make_sample() -> Callable[..., dict]:
    """Factory of one dataset sample: random events, and a random pose unless told not to."""

    def make(num_events: int = 2000, seed: int = 0, with_pose: bool = True,
             window_us: tuple[int, int] = (5_000_000, 5_100_000),
             events: dict[str, np.ndarray] | None = None) -> dict:
        rng = np.random.default_rng(seed)
        sample = {
            'seq_id': 'RT007', 'label_index': 50, 'timestamp': 51_000,
            'timestamp_us': window_us[1], 'window_us': window_us,
            'events': events if events is not None else random_events(rng, num_events,
                                                                     window_us),
            'sensor_size': SENSOR_SIZE, 'cam_K': CAM_K.copy(),
        }
        if with_pose:
            quat = rng.normal(size=4)
            quat *= np.sign(quat[3]) / np.linalg.norm(quat)
            sample['gt_t'] = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1),
                                       rng.uniform(3, 12)])
            sample['gt_q'] = quat
        return sample

    return make
