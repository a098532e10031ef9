"""The keypoint head split into codec, losses and PnP solver gives the numbers it gave before.

``keypoint_head_reference.json`` holds the outputs of the head as one class (commit
aa8ebaf) on the inputs below: eight windows whose statuses cover PnP ok, PnP on all
keypoints, fallback, no target and no events.
"""
import json
from pathlib import Path

import numpy as np
import torch

from sparkpose.evaluation import PoseMetric
from sparkpose.registry import MODELS
from sparkpose.structures import PoseDataSample, proba2_like, project_keypoints

INPUT = 64
K = np.array([[120.0, 0, 32], [0, 120.0, 32], [0, 0, 1]])
REFERENCE = json.loads((Path(__file__).parent / 'keypoint_head_reference.json').read_text())


def _samples():
    samples = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        q = rng.standard_normal(4)
        q /= np.linalg.norm(q)
        t = np.array([0.05, -0.1, 7.0]) + rng.normal(0, 0.1, 3)
        sample = PoseDataSample(metainfo=dict(cam_K=K, input_size=(INPUT, INPUT),
                                              seq_id='RT000', label_index=seed))
        sample.gt_t = torch.tensor(t, dtype=torch.float32)
        sample.gt_q = torch.tensor(q, dtype=torch.float32)
        samples.append(sample)
    samples[5].set_metainfo(dict(num_events=0))
    samples[6].set_metainfo(dict(crop_fallback=True))
    return samples


def _heatmaps(head, samples, size=16):
    """Logits peaked at the true keypoints with window-dependent sharpness and noise."""
    gt_q = torch.stack([s.gt_q for s in samples])
    gt_t = torch.stack([s.gt_t for s in samples])
    cam_K = torch.tensor(K, dtype=torch.float32).expand(len(samples), 3, 3)
    uv, _ = project_keypoints(head.keypoints_3d, gt_q, gt_t, cam_K,
                              torch.full((len(samples), 2), float(INPUT)))
    cells = uv / (INPUT / size) - 0.5
    grid = torch.arange(size, dtype=torch.float32)
    dist = ((grid[None, None, None, :] - cells[..., 0, None, None]) ** 2
            + (grid[None, None, :, None] - cells[..., 1, None, None]) ** 2)
    sharp = torch.tensor([0.5, 0.5, 0.3, 0.02, 0.5, 0.5, 0.5, 0.0])[:, None, None, None]
    scale = torch.tensor([0.3, 1.0, 2.0, 0.05, 3.0, 0.3, 0.3, 0.0])[:, None, None, None]
    noise = torch.randn(len(samples), head.num_keypoints, size, size,
                        generator=torch.Generator().manual_seed(0))
    return -sharp * dist + scale * noise


def test_losses_poses_statuses_and_keypoint_errors_match_the_one_class_head(tmp_path):
    body_file = str(proba2_like().save(tmp_path / 'body.json'))
    head = MODELS.build(dict(type='KeypointHeatmapHead', in_channels=8, body_model=body_file))
    samples = _samples()
    heatmaps = _heatmaps(head, samples)
    head.forward = lambda feats: dict(heatmaps=feats)
    losses = head.loss(heatmaps, samples)
    assert float(losses['loss_heatmap']) == REFERENCE['loss_heatmap']
    assert float(losses['loss_keypoint']) == REFERENCE['loss_keypoint']
    out = head.predict(heatmaps, samples)
    assert [int(s.pred_extras['pose_status']) for s in out] == REFERENCE['pose_status']
    assert ([float(s.pred_extras['pose_confidence']) for s in out]
            == REFERENCE['pose_confidence'])
    np.testing.assert_array_equal(np.stack([s.pred_t.numpy() for s in out]),
                                  np.float32(REFERENCE['pred_t']))
    np.testing.assert_array_equal(np.stack([s.pred_q.numpy() for s in out]),
                                  np.float32(REFERENCE['pred_q']))
    # The keypoint error the head used to compute in float32, now the metric's (float64).
    metric = PoseMetric(body_model=body_file, sequence_filters={})
    metric.process(None, out)
    np.testing.assert_allclose([r['keypoint_err_px'] for r in metric.results],
                               REFERENCE['keypoint_err_px'], rtol=1e-5)
