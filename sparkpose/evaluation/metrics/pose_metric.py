"""Pose metric: position / rotation errors and the SPEED+ score."""
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from sparkpose.registry import METRICS

from ..functional import (
    POSITION_THRESHOLD,
    ROTATION_THRESHOLD_DEG,
    speed_scores,
    summarize_pose_errors,
)


def to_numpy(value) -> np.ndarray | None:
    """Tensor / array / sequence → float64 numpy array (``None`` stays ``None``)."""
    if value is None:
        return None
    if hasattr(value, 'detach'):
        value = value.detach().cpu()
    return np.asarray(value, dtype=np.float64)


@METRICS.register_module()
class PoseMetric(BaseMetric):
    """Position error (m), rotation error (°) and SPEED+ score, mean and median.

    The arithmetic lives in ``sparkpose.evaluation.functional``. Samples without ground
    truth (test files) are skipped and counted in the log. A per-sequence table goes to
    the log as well.

    Args:
        position_threshold: Normalised position errors below this count 0 in the score.
        rotation_threshold_deg: Rotation errors below this (°) count 0 in the score.
        collect_device: ``'cpu'`` or ``'gpu'``, for collecting results across ranks.
        prefix: Key prefix; default ``'pose'`` (keys like ``'pose/speed_mean'``).

    Returns (evaluate):
        ``{prefix}/{name}_{mean|median}`` for ``pos_err_m``, ``rot_err_deg``,
        ``speed_pos``, ``speed_rot`` and ``speed``.
    """

    default_prefix = 'pose'

    def __init__(self, position_threshold: float = POSITION_THRESHOLD,
                 rotation_threshold_deg: float = ROTATION_THRESHOLD_DEG,
                 collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thresholds = dict(position_threshold=position_threshold,
                               rotation_threshold_deg=rotation_threshold_deg)

    def process(self, data_batch, data_samples: Sequence[Mapping]) -> None:
        """Keep the seq_id, prediction and ground truth of each sample."""
        for sample in data_samples:
            self.results.append(dict(
                seq_id=sample.get('seq_id'), pred_t=to_numpy(sample.get('pred_t')),
                pred_q=to_numpy(sample.get('pred_q')), gt_t=to_numpy(sample.get('gt_t')),
                gt_q=to_numpy(sample.get('gt_q'))))

    def compute_metrics(self, results: list[dict]) -> dict[str, float]:
        """Summaries over the samples with ground truth; logs the per-sequence table."""
        with_gt = [r for r in results if r['gt_t'] is not None and r['gt_q'] is not None]
        skipped = len(results) - len(with_gt)
        if skipped:
            print_log(f'PoseMetric: {skipped} of {len(results)} samples have no ground truth '
                      f'and were skipped', logger='current')
        if not with_gt:
            print_log('PoseMetric: no sample has ground truth; no pose metrics',
                      logger='current', level=30)
            return {}
        arrays = {key: np.stack([r[key] for r in with_gt])
                  for key in ('pred_t', 'pred_q', 'gt_t', 'gt_q')}
        print_log('Pose errors per sequence:\n' + self.sequence_table(
            [r['seq_id'] for r in with_gt], arrays), logger='current')
        return summarize_pose_errors(arrays['pred_t'], arrays['pred_q'], arrays['gt_t'],
                                     arrays['gt_q'], **self.thresholds)

    def sequence_table(self, seq_ids: list[str], arrays: dict[str, np.ndarray]) -> str:
        """Text table per sequence: samples, mean position / rotation error, mean SPEED score."""
        scores = speed_scores(arrays['pred_t'], arrays['pred_q'], arrays['gt_t'], arrays['gt_q'],
                              **self.thresholds)
        rows = defaultdict(list)
        for index, seq_id in enumerate(seq_ids):
            rows[str(seq_id)].append(index)
        lines = [f'{"sequence":<12}{"n":>6}{"pos_err_m":>12}{"rot_err_deg":>13}{"speed":>10}']
        for seq_id in sorted(rows):
            index = rows[seq_id]
            lines.append(f'{seq_id:<12}{len(index):>6}{scores["pos_err_m"][index].mean():>12.4f}'
                         f'{scores["rot_err_deg"][index].mean():>13.3f}'
                         f'{scores["speed"][index].mean():>10.4f}')
        return '\n'.join(lines)
