"""The sequence filter on a simulated tumble: symmetric flips, outliers and gaps repaired."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sparkpose.apis.sequence_filter import SequenceFilterConfig, filter_sequence
from sparkpose.structures import proba2_like

SYMMETRIES = np.asarray(proba2_like().symmetries)


def _tumble(num=60, rate_deg=8.0, seed=0):
    """A constant tumble (``rate_deg`` per window) and a slow drift in translation."""
    rng = np.random.default_rng(seed)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    start = Rotation.random(random_state=seed)
    rotations = Rotation.from_rotvec(np.radians(rate_deg) * np.arange(num)[:, None] * axis)
    q = (rotations * start).as_quat()
    t = np.c_[np.linspace(-0.2, 0.3, num), np.zeros(num), np.linspace(6, 7, num)]
    return t, q


def _errors(q, truth):
    return np.degrees(2 * np.arccos(np.clip(np.abs((q * truth).sum(1)), 0, 1)))


def _corrupt(t, q, seed=1):
    """Noise of ~2 deg, 15 % symmetric copies, 5 % wrong attitudes, 10 % missing."""
    rng = np.random.default_rng(seed)
    noisy = (Rotation.from_rotvec(np.radians(2) * rng.normal(size=(len(q), 3)))
             * Rotation.from_quat(q)).as_matrix()
    flipped = rng.random(len(q)) < 0.15
    noisy[flipped] = noisy[flipped] @ SYMMETRIES[rng.integers(1, len(SYMMETRIES),
                                                              flipped.sum())]
    wrong = rng.random(len(q)) < 0.05
    noisy[wrong] = Rotation.random(int(wrong.sum()), random_state=seed).as_matrix()
    observed = rng.random(len(q)) > 0.1
    observed[0] = True
    return t + rng.normal(0, 0.05, t.shape), Rotation.from_matrix(noisy).as_quat(), observed


@pytest.mark.parametrize('mode', ['offline', 'causal'])
def test_flips_outliers_and_gaps_are_repaired(mode):
    t, q = _tumble()
    noisy_t, noisy_q, observed = _corrupt(t, q)
    raw = _errors(noisy_q, q)
    assert raw.mean() > 25  # the corruption is real
    out_t, out_q, kept = filter_sequence(noisy_t, noisy_q, observed, SYMMETRIES,
                                         SequenceFilterConfig(mode=mode))
    errors = _errors(out_q, q)
    assert np.isfinite(out_t).all() and out_q.shape == q.shape and (out_q[:, 3] >= 0).all()
    limit = 5 if mode == 'offline' else 12
    assert errors.mean() < limit and np.median(errors) < 4, (mode, errors.round(1))
    assert not kept[~observed].any()
    assert np.abs(out_t - t).mean() < 0.06


def test_causal_output_depends_on_the_past_only():
    t, q = _tumble(num=30)
    noisy_t, noisy_q, observed = _corrupt(t, q, seed=3)
    causal = SequenceFilterConfig(mode='causal')
    full_t, full_q, _ = filter_sequence(noisy_t, noisy_q, observed, SYMMETRIES, causal)
    head_t, head_q, _ = filter_sequence(noisy_t[:18], noisy_q[:18], observed[:18], SYMMETRIES,
                                        causal)
    np.testing.assert_allclose(full_q[:18], head_q, atol=1e-12)
    np.testing.assert_allclose(full_t[:18], head_t, atol=1e-12)


def test_clean_sequence_is_kept_and_no_window_observed_is_passed_through():
    t, q = _tumble(num=12, rate_deg=3)
    out_t, out_q, kept = filter_sequence(t, q, np.ones(12, bool), SYMMETRIES)
    assert kept.all() and _errors(out_q, q).max() < 0.5
    nothing = filter_sequence(t, q, np.zeros(12, bool), SYMMETRIES)
    np.testing.assert_array_equal(nothing[0], t)
    assert not nothing[2].any()


def test_bad_settings_raise():
    with pytest.raises(ValueError, match='mode'):
        SequenceFilterConfig(mode='both')
    with pytest.raises(ValueError, match='smooth_window'):
        SequenceFilterConfig(smooth_window=4)
