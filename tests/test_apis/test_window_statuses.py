"""A window without events and a window of noise only: a finite pose, flagged, through the
keypoint demo config's pipeline, inference_sequence and the submission's status file."""
import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from sparkpose.apis import inference_sequence, init_model, status_path, write_status_file
from sparkpose.simulation.spades_writer import write_camera_json
from sparkpose.structures import POSE_STATUSES, proba2_like

CONFIG = (Path(__file__).resolve().parents[2] / 'configs' / 'keypoint'
          / 'kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py')


@pytest.fixture
def model(tmp_path):
    body = str(proba2_like().save(tmp_path / 'body.json'))
    torch.manual_seed(0)
    return init_model(CONFIG, cfg_options={'model.head.body_model': body,
                                           'test_evaluator.body_model': body})


def test_empty_and_noise_windows_are_finite_and_flagged(model, tmp_path,
                                                        spades_file_factory):
    rng = np.random.default_rng(0)
    num = 20_000  # uniform noise over the sensor, only after label 1's window
    ts = np.sort(rng.integers(2001, 4001, num))
    events = dict(xs=rng.integers(0, 1280, num), ys=rng.integers(0, 720, num), ts=ts,
                  ps=rng.integers(0, 2, num))
    data = tmp_path / 'data'
    data.mkdir()
    path = spades_file_factory('RT900', num_labels=4, events=events, directory=data)
    write_camera_json(data)
    for sequence_filter in (None, {}, dict(causal=True)):
        poses = inference_sequence(model, path, sequence_filter=sequence_filter)
        assert np.isfinite(poses.t).all() and np.isfinite(poses.q).all()
        names = [POSE_STATUSES[code] for code in poses.status]
        assert names[:2] == ['no_events', 'no_events']
        assert 'pnp_ok' not in names[2:]  # noise has no keypoints to be sure of
        assert (poses.confidence[:2] == 0).all()
    rows = list(csv.reader(write_status_file(status_path(tmp_path / 'sub.csv'), [poses])
                           .open()))
    assert rows[0] == ['id', 'status', 'confidence']
    assert rows[1][:2] == ['RT900_000', 'no_events'] and len(rows) == 5
