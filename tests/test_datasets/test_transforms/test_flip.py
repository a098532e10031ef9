"""RandomHorizontalFlip: mirrored events, the mirrored pose, and where it must refuse."""
import numpy as np
import pytest
import torch

from sparkpose.registry import TRANSFORMS
from sparkpose.structures import quaternion_to_matrix

S = np.diag([-1.0, 1.0, 1.0])
# Mirror plane with body-frame normal n (not an axis plane): M = I - 2 n n^T.
NORMAL = np.array([1.0, 2.0, -0.5]) / np.linalg.norm([1.0, 2.0, -0.5])
PLANE_REFLECTION = np.eye(3) - 2 * np.outer(NORMAL, NORMAL)


def _flip(**cfg):
    return TRANSFORMS.build(dict(type='RandomHorizontalFlip', prob=1.0, **cfg))


def _rotation(quat):
    return quaternion_to_matrix(torch.from_numpy(quat)).numpy()


def test_events_are_mirrored_and_inputs_untouched(make_sample):
    sample = make_sample(500, seed=1)
    before = {k: v.copy() for k, v in sample['events'].items()}
    original_x = sample['events']['x']
    results = _flip()(sample)
    events = results['events']
    np.testing.assert_array_equal(events['x'], 1279 - before['x'].astype(int))
    assert events['x'].dtype == np.uint16
    for key in 'ytp':
        np.testing.assert_array_equal(events[key], before[key])
    np.testing.assert_array_equal(original_x, before['x'])  # no in-place write
    assert results['flipped'] is True


def test_default_reflection_negates_tx_qy_qz(make_sample):
    sample = make_sample(10, seed=2)
    t, q = sample['gt_t'].copy(), sample['gt_q'].copy()
    results = _flip()(sample)
    np.testing.assert_allclose(results['gt_t'], t * [-1, 1, 1], atol=1e-12)
    np.testing.assert_allclose(results['gt_q'], q * [1, -1, -1, 1], atol=1e-12)
    assert results['gt_q'][3] >= 0


def test_custom_reflection_gives_s_r_m(make_sample):
    sample = make_sample(10, seed=3)
    rotation, t = _rotation(sample['gt_q']), sample['gt_t'].copy()
    results = _flip(body_reflection=PLANE_REFLECTION.tolist())(sample)
    np.testing.assert_allclose(_rotation(results['gt_q']), S @ rotation @ PLANE_REFLECTION,
                               atol=1e-12)
    np.testing.assert_allclose(results['gt_t'], S @ t, atol=1e-12)
    assert results['gt_q'][3] >= 0


@pytest.mark.parametrize('reflection', [None, PLANE_REFLECTION.tolist()])
def test_flipping_twice_is_identity(make_sample, reflection):
    sample = make_sample(300, seed=4)
    before = {k: v.copy() for k, v in sample['events'].items()}
    t, q = sample['gt_t'].copy(), sample['gt_q'].copy()
    flip = _flip(body_reflection=reflection)
    results = flip(flip(sample))
    for key in 'xytp':
        np.testing.assert_array_equal(results['events'][key], before[key])
    np.testing.assert_allclose(results['gt_t'], t, atol=1e-12)
    np.testing.assert_allclose(results['gt_q'], q, atol=1e-12)
    assert results['flipped'] is False


def test_mirrored_image_of_symmetric_body_equals_image_at_flipped_pose(make_sample):
    # A body symmetric under M (points P and M P); its events in the mirrored window must be
    # the events the flipped pose produces - exactly, because cx = W / 2.
    rng = np.random.default_rng(5)
    half = rng.uniform(-0.5, 0.5, (200, 3))
    body = np.concatenate([half, half @ PLANE_REFLECTION.T])

    def pixels(sample):
        cam = body @ _rotation(sample['gt_q']).T + sample['gt_t']
        uv = cam @ sample['cam_K'].T
        return np.floor(uv[:, :2] / uv[:, 2:]).astype(np.int64)

    sample = make_sample(0, seed=5)
    sample['gt_t'] = np.array([0.2, -0.1, 6.0])
    xy = pixels(sample)
    assert (xy >= 0).all() and (xy < [1280, 720]).all()
    sample['events'] = dict(x=xy[:, 0], y=xy[:, 1], t=np.full(len(xy), 5_050_000),
                            p=np.ones(len(xy), np.uint8))
    results = _flip(body_reflection=PLANE_REFLECTION.tolist())(sample)
    mirrored = sorted(zip(results['events']['x'].tolist(), results['events']['y'].tolist()))
    assert mirrored == sorted(map(tuple, pixels(results).tolist()))


def test_sample_without_pose_is_flipped(make_sample):
    sample = make_sample(50, with_pose=False)
    x = sample['events']['x'].copy()
    results = _flip()(sample)
    np.testing.assert_array_equal(results['events']['x'], 1279 - x.astype(int))
    assert 'gt_t' not in results and 'gt_q' not in results


def test_off_centre_cx_raises_even_when_not_flipping(make_sample):
    sample = make_sample(10)
    sample['cam_K'][0, 2] = 641.5
    flip = TRANSFORMS.build(dict(type='RandomHorizontalFlip', prob=0.0))
    with pytest.raises(ValueError, match=r'cx = 641\.5.*W/2 = 640\.0'):
        flip(sample)


def test_flip_after_representation_raises(make_sample):
    results = TRANSFORMS.build(dict(type='EventsToVoxelGrid'))(make_sample(10))
    with pytest.raises(ValueError, match='must come before the representation'):
        _flip()(results)


@pytest.mark.parametrize('reflection', [np.eye(3).tolist(), (2 * S).tolist(), [[-1, 0, 0]]])
def test_bad_body_reflection_raises(reflection):
    with pytest.raises(ValueError, match='body_reflection'):
        _flip(body_reflection=reflection)


def test_prob_decides_with_numpy_global_rng(make_sample):
    flip = TRANSFORMS.build(dict(type='RandomHorizontalFlip', prob=0.5))
    np.random.seed(0)
    first = [flip(make_sample(1)).get('flipped', False) for _ in range(40)]
    np.random.seed(0)
    second = [flip(make_sample(1)).get('flipped', False) for _ in range(40)]
    assert first == second
    assert 10 < sum(first) < 30
