"""PoseMetric through mmengine's evaluate(): hand-computed cases, skipped samples, table."""
import math

import pytest
import torch

from sparkpose.evaluation.metrics import pose_metric
from sparkpose.registry import METRICS
from sparkpose.structures import PoseDataSample

IDENTITY = [0.0, 0.0, 0.0, 1.0]
Z90 = [0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)]


def z_rotation(angle_deg):
    half = math.radians(angle_deg) / 2
    return [0.0, 0.0, math.sin(half), math.cos(half)]


def sample(seq_id, index, pred_t, pred_q, gt_t=None, gt_q=None):
    data_sample = PoseDataSample(metainfo=dict(seq_id=seq_id, label_index=index,
                                               timestamp=index * 1000))
    data_sample.pred_t = torch.tensor(pred_t)
    data_sample.pred_q = torch.tensor(pred_q)
    if gt_t is not None:
        data_sample.gt_t = torch.tensor(gt_t)
        data_sample.gt_q = torch.tensor(gt_q)
    return data_sample


def evaluate(metric, samples):
    # The Evaluator hands metrics the samples as dicts.
    metric.process({}, [s.to_dict() for s in samples])
    return metric.evaluate(len(samples))


def test_hand_computed_errors_and_scores(monkeypatch):
    samples = [
        # 1 cm at 10 m: 1e-3 normalised, below the threshold; -q of the gt: no error.
        sample('RT001', 0, [0, 0, 10.01], [-v for v in IDENTITY], [0, 0, 10.0], IDENTITY),
        # 1 m at 5 m: 0.2; 90° about z.
        sample('RT001', 1, [3, 4, 1.0], Z90, [3, 4, 0.0], IDENTITY),
        # Exact position; 0.1° is below the 0.169° threshold.
        sample('RT002', 0, [1, 2, 2.0], z_rotation(0.1), [1, 2, 2.0], IDENTITY),
        sample('RT901', 0, [0, 0, 5.0], IDENTITY),  # no ground truth: skipped
    ]
    messages = []
    monkeypatch.setattr(pose_metric, 'print_log', lambda msg, **kwargs: messages.append(msg))
    metric = METRICS.build(dict(type='PoseMetric'))
    results = evaluate(metric, samples)
    expected = {
        'pos_err_m_mean': (0.01 + 1.0 + 0) / 3, 'pos_err_m_median': 0.01,
        'rot_err_deg_mean': (0 + 90 + 0.1) / 3, 'rot_err_deg_median': 0.1,
        'speed_pos_mean': 0.2 / 3, 'speed_rot_mean': math.pi / 2 / 3,
        'speed_mean': (0.2 + math.pi / 2) / 3, 'speed_median': 0.0,
    }
    for name, value in expected.items():
        assert results[f'pose/{name}'] == pytest.approx(value, abs=1e-6), name
    assert any('1 of 4 samples have no ground truth' in m for m in messages)
    table = next(m for m in messages if m.startswith('Pose errors per sequence'))
    assert 'RT001' in table and 'RT002' in table and 'RT901' not in table


def test_sequence_table_lists_each_sequence():
    metric = METRICS.build(dict(type='PoseMetric'))
    arrays = dict(pred_t=torch.tensor([[0, 0, 6.0], [0, 0, 5.0], [0, 0, 7.0]]).numpy(),
                  gt_t=torch.tensor([[0, 0, 5.0]] * 3).numpy(),
                  pred_q=torch.tensor([Z90, IDENTITY, IDENTITY]).numpy(),
                  gt_q=torch.tensor([IDENTITY] * 3).numpy())
    lines = metric.sequence_table(['RT002', 'RT001', 'RT002'], arrays).splitlines()
    assert lines[0].split() == ['sequence', 'n', 'pos_err_m', 'rot_err_deg', 'speed']
    assert lines[1].split() == ['RT001', '1', '0.0000', '0.000', '0.0000']
    score = ((0.2 + math.pi / 2) + 0.4) / 2
    assert lines[2].split() == ['RT002', '2', '1.5000', '45.000', f'{score:.4f}']


def test_no_ground_truth_gives_no_metrics():
    metric = METRICS.build(dict(type='PoseMetric', prefix='val'))
    assert evaluate(metric, [sample('RT901', 0, [0, 0, 5.0], IDENTITY)]) == {}


def test_thresholds_are_configurable():
    metric = METRICS.build(dict(type='PoseMetric', rotation_threshold_deg=0.0,
                                position_threshold=0.0))
    results = evaluate(metric, [sample('RT001', 0, [0, 0, 10.01], z_rotation(0.1),
                                       [0, 0, 10.0], IDENTITY)])
    assert results['pose/speed_mean'] == pytest.approx(1e-3 + math.radians(0.1), abs=1e-7)
