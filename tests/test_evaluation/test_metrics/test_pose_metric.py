"""PoseMetric through mmengine's evaluate(): hand-computed cases, skipped samples, table."""
import math

import numpy as np
import pytest
import torch

from sparkpose.evaluation.metrics import pose_metric
from sparkpose.registry import METRICS
from sparkpose.structures import PoseDataSample, proba2_like

IDENTITY = [0.0, 0.0, 0.0, 1.0]
Z90 = [0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)]


def z_rotation(angle_deg):
    half = math.radians(angle_deg) / 2
    return [0.0, 0.0, math.sin(half), math.cos(half)]


def x_rotation(angle_deg):
    half = math.radians(angle_deg) / 2
    return [math.sin(half), 0.0, 0.0, math.cos(half)]


def sample(seq_id, index, pred_t, pred_q, gt_t=None, gt_q=None, metainfo=None, **extra):
    data_sample = PoseDataSample(metainfo=dict(seq_id=seq_id, label_index=index,
                                               timestamp=index * 1000, **(metainfo or {})))
    data_sample.pred_t = torch.tensor(pred_t)
    data_sample.pred_q = torch.tensor(pred_q)
    if gt_t is not None:
        data_sample.gt_t = torch.tensor(gt_t)
        data_sample.gt_q = torch.tensor(gt_q)
    if extra:  # a head's extra outputs: pnp_ok, pose_status, keypoints...
        data_sample.pred_extras = {key: torch.tensor(value) for key, value in extra.items()}
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
    errors = metric.errors(arrays['pred_t'], arrays['pred_q'], arrays)
    lines = metric.sequence_table(['RT002', 'RT001', 'RT002'], errors).splitlines()
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


def test_accuracies_and_counts_without_body_model():
    samples = [sample('RT001', 0, [0, 0, 5.0], z_rotation(3), [0, 0, 5.0], IDENTITY),
               sample('RT001', 1, [0, 0, 5.0], z_rotation(20), [0, 0, 5.0], IDENTITY),
               sample('RT002', 0, [0, 0, 5.0], x_rotation(180), [0, 0, 5.0], IDENTITY),
               sample('RT003', 0, [0, 0, 5.0], IDENTITY)]  # no ground truth: not counted
    results = evaluate(METRICS.build(dict(type='PoseMetric')), samples)
    assert results['pose/rot_acc_5'] == pytest.approx(1 / 3)
    assert results['pose/rot_acc_10'] == pytest.approx(1 / 3)
    assert results['pose/rot_acc_30'] == pytest.approx(2 / 3)
    assert results['pose/num_windows'] == 3 and results['pose/num_sequences'] == 2
    absent = ('rot_err_sym_deg_mean', 'rot_sym_acc_30', 'pnp_success_rate', 'kpt_err_px_mean')
    assert not any(f'pose/{key}' in results for key in absent)


def test_body_model_gives_errors_modulo_symmetry(tmp_path, monkeypatch):
    body = proba2_like().save(tmp_path / 'body.json')
    samples = [  # gt · Rx(180°) is a symmetry of the body; Rz(20°) is a real error
        sample('RT001', 0, [0, 0, 5.0], x_rotation(180), [0, 0, 5.0], IDENTITY),
        sample('RT002', 0, [0, 0, 5.0], z_rotation(20), [0, 0, 5.0], IDENTITY),
    ]
    messages = []
    monkeypatch.setattr(pose_metric, 'print_log', lambda msg, **kwargs: messages.append(msg))
    results = evaluate(METRICS.build(dict(type='PoseMetric', body_model=str(body))), samples)
    assert results['pose/rot_err_deg_mean'] == pytest.approx(100.0, abs=1e-4)
    assert results['pose/rot_err_sym_deg_mean'] == pytest.approx(10.0, abs=1e-4)
    assert results['pose/rot_err_sym_deg_median'] == pytest.approx(10.0, abs=1e-4)
    assert (results['pose/rot_acc_10'], results['pose/rot_acc_30']) == (0.0, 0.5)
    assert (results['pose/rot_sym_acc_5'], results['pose/rot_sym_acc_10'],
            results['pose/rot_sym_acc_30']) == (0.5, 0.5, 1.0)
    table = next(m for m in messages if m.startswith('Pose errors per sequence')).splitlines()
    assert table[1].split() == ['sequence', 'n', 'pos_err_m', 'rot_err_deg', 'rot_sym_deg',
                                'speed']
    assert table[2].split()[:5] == ['RT001', '1', '0.0000', '180.000', '0.000']
    assert table[3].split()[:5] == ['RT002', '1', '0.0000', '20.000', '20.000']


def test_missing_body_model_fails_at_build(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.json not found'):
        METRICS.build(dict(type='PoseMetric', body_model=str(tmp_path / 'nowhere.json')))


def test_keypoint_head_diagnostics(tmp_path):
    """The metric projects the body's keypoints with the gt pose and each sample's camera
    and measures the predicted keypoints against them."""
    body = proba2_like()
    camera = dict(cam_K=np.array([[100.0, 0, 320], [0, 100.0, 240], [0, 0, 1]]),
                  input_size=(640, 480))
    uv = body.keypoints[:, :2] / (body.keypoints[:, 2:] + 5.0) * 100.0 + [320, 240]
    pose = dict(pred_t=[0, 0, 5.0], pred_q=IDENTITY, gt_q=IDENTITY, metainfo=camera)
    inside = [0, 0, 5.0]
    samples = [sample('RT001', 0, **pose, gt_t=inside, pnp_ok=True, keypoints=uv + [0.6, 0.8]),
               sample('RT001', 1, **pose, gt_t=inside, pnp_ok=False, keypoints=uv + [1.8, 2.4]),
               # The target far outside the input: no keypoint to measure.
               sample('RT001', 2, **pose, gt_t=[100.0, 0, 5.0], pnp_ok=True, keypoints=uv),
               sample('RT002', 0, **pose, gt_t=inside, pnp_ok=True, keypoints=uv + [4.8, 6.4])]
    metric = METRICS.build(dict(type='PoseMetric', body_model=str(body.save(tmp_path / 'b.json'))))
    results = evaluate(metric, samples)
    assert results['pose/pnp_success_rate'] == pytest.approx(3 / 4)
    # NaN (no keypoint inside the input) is left out: median and mean of 1, 3 and 8 px.
    assert results['pose/kpt_err_px_median'] == pytest.approx(3.0)
    assert results['pose/kpt_err_px_mean'] == pytest.approx(4.0)
    # Without a body model there is nothing to project: no keypoint figures.
    plain = evaluate(METRICS.build(dict(type='PoseMetric')), samples)
    assert 'pose/kpt_err_px_median' not in plain and 'pose/pnp_success_rate' in plain


def test_statuses_are_counted_and_filters_reported():
    """A flipped window between good neighbours: the raw mean carries it, the offline
    filter (tracking over the body's symmetries) does not; statuses are counted."""
    body = np.stack([np.eye(3), np.diag([-1.0, -1.0, 1.0])])
    metric = METRICS.build(dict(type='PoseMetric'))
    metric.symmetries = body
    flipped = [0.0, 0.0, 1.0, 0.0]  # 180° about z: the body's symmetric copy
    samples = [sample('RT001', i, [0, 0, 5.0], flipped if i == 2 else IDENTITY, [0, 0, 5.0],
                      IDENTITY, pose_status=0 if i != 3 else 2,
                      pose_confidence=1.0 if i != 3 else 0.0)
               for i in range(6)]
    metrics = evaluate(metric, samples)
    assert metrics['pose/status/pnp_ok'] == 5 and metrics['pose/status/fallback'] == 1
    assert metrics['pose/fallback_share'] == pytest.approx(1 / 6)
    assert metrics['pose/rot_err_deg_mean'] == pytest.approx(30.0)
    assert metrics['pose/offline/rot_err_deg_mean'] < 1e-6
    assert metrics['pose/tracked/rot_err_deg_mean'] < 1e-6
