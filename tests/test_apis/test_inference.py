"""inference_sequence: one finite pose per label of a file, in label order."""
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from sparkpose.apis import inference_sequence, init_model

CONFIG = (Path(__file__).resolve().parents[2] / 'configs' / 'voxelcnn'
          / 'rot6d_voxelcnn_1xb32-30e_synthetic-128x128.py')


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return init_model(CONFIG)


def _labels(path: Path) -> np.ndarray:
    with h5py.File(path) as f:
        return f['labels/data'][()]


def test_one_pose_per_label_in_order(model, synthetic_root):
    path = synthetic_root / 'RT000.h5'
    poses = inference_sequence(model, path, batch_size=3)
    labels = _labels(path)
    assert poses.seq_id == 'RT000'
    np.testing.assert_array_equal(poses.label_index, np.arange(len(labels)))
    np.testing.assert_array_equal(poses.timestamp, labels['timestamp'])
    assert poses.t.shape == (len(labels), 3) and poses.q.shape == (len(labels), 4)
    assert np.isfinite(poses.t).all()
    np.testing.assert_allclose(np.linalg.norm(poses.q, axis=1), 1.0, atol=1e-6)
    assert (poses.q[:, 3] >= 0).all()
    # The batch size does not change the answer.
    again = inference_sequence(model, path, batch_size=len(labels))
    np.testing.assert_allclose(again.t, poses.t, atol=1e-5)


def test_smoothing_keeps_shape_and_averages(model, synthetic_root):
    path = synthetic_root / 'RT000.h5'
    raw = inference_sequence(model, path)
    smooth = inference_sequence(model, path, smoothing=3)
    assert smooth.t.shape == raw.t.shape
    np.testing.assert_allclose(smooth.t[1], raw.t[:3].mean(0), atol=1e-6)


def test_flip_test_from_the_model_test_cfg(synthetic_root):
    torch.manual_seed(0)
    flip_model = init_model(CONFIG, cfg_options={'model.test_cfg.flip_test': True})
    torch.manual_seed(0)
    plain_model = init_model(CONFIG)
    assert flip_model.test_cfg == dict(flip_test=True)
    path = synthetic_root / 'RT000.h5'
    flipped, plain = inference_sequence(flip_model, path), inference_sequence(plain_model, path)
    assert np.isfinite(flipped.t).all()
    assert np.abs(flipped.t - plain.t).max() > 1e-6
