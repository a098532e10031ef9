"""Pose metric: position / rotation errors and the SPEED+ score."""
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from sparkpose.registry import METRICS
from sparkpose.structures import (
    filter_pose_sequence,
    load_body_model,
    project_keypoints,
    status_counts,
)

from ..functional import (
    POSITION_THRESHOLD,
    ROTATION_THRESHOLD_DEG,
    pose_error_arrays,
    summarize_error_arrays,
)

# Per-sample values the metric reads beside the pose; None where a sample has none.
# Heads report theirs in ``pred_extras`` (every single-number extra is kept).
PER_SAMPLE_KEYS = ('label_index', 'pnp_ok', 'pose_status', 'pose_confidence',
                   'keypoint_err_px')
# The sequence filters reported beside the raw figures: symmetric-copy tracking alone,
# tracking and smoothing over the whole trajectory, and the same using the past only.
DEFAULT_SEQUENCE_FILTERS = dict(tracked=dict(smooth=False), offline=dict(),
                                causal=dict(causal=True))


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
        body_model: Path of a ``body.json``; its symmetries give the rotation error modulo
            symmetry (a symmetric body's flips are not what the model failed to learn), and
            its keypoints, projected with the ground-truth pose and each sample's
            ``cam_K``, the keypoint pixel error of a head that reports ``keypoints``.
            None: neither.
        collect_device: ``'cpu'`` or ``'gpu'``, for collecting results across ranks.
        prefix: Key prefix; default ``'pose'`` (keys like ``'pose/speed_mean'``).
        sequence_filters: ``{name: kwargs of filter_pose_sequence}``; each trajectory's
            predictions (by ``seq_id``, in ``label_index`` order, weighted by
            ``pose_confidence``, 1 where absent) are filtered and the same summaries
            reported as ``{prefix}/{name}/...``. ``{}``: raw figures only.

    Returns (evaluate):
        ``{prefix}/{name}_{mean|median}`` for ``pos_err_m``, ``rot_err_deg``,
        ``speed_pos``, ``speed_rot`` and ``speed``; ``rot_acc_{5,10,30}`` (fraction of
        rotation errors under 5°, 10°, 30°); ``num_windows`` / ``num_sequences`` (samples
        and sequences with ground truth the figures rest on). With ``body_model``:
        ``rot_err_sym_deg_{mean|median}`` and ``rot_sym_acc_{5,10,30}``. When samples carry
        them in ``pred_extras``: ``pnp_success_rate`` (mean of ``pnp_ok``) and, with
        ``body_model``, ``kpt_err_px_{median|mean}`` (over the windows with keypoints in
        the input of each window's median pixel error over those keypoints). When samples
        carry ``pose_status``:
        ``status/{name}`` (windows per status) and ``fallback_share`` (windows whose pose
        is not PnP on the confident keypoints).
    """

    default_prefix = 'pose'

    def __init__(self, position_threshold: float = POSITION_THRESHOLD,
                 rotation_threshold_deg: float = ROTATION_THRESHOLD_DEG,
                 body_model: str | None = None, collect_device: str = 'cpu',
                 prefix: str | None = None,
                 sequence_filters: dict | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.sequence_filters = dict(DEFAULT_SEQUENCE_FILTERS if sequence_filters is None
                                     else sequence_filters)
        self.thresholds = dict(position_threshold=position_threshold,
                               rotation_threshold_deg=rotation_threshold_deg)
        # Loaded now: a wrong path fails at build time, not after a whole validation pass.
        body = None if body_model is None else load_body_model(str(body_model))
        self.body_model = body_model
        self.symmetries = None if body is None else body.symmetries
        self.keypoints = None if body is None else torch.tensor(body.keypoints,
                                                                dtype=torch.float64)

    def process(self, data_batch, data_samples: Sequence[Mapping]) -> None:
        """Keep the seq_id, prediction, ground truth and per-sample extras of each sample."""
        for sample in data_samples:
            result = dict(
                seq_id=sample.get('seq_id'), pred_t=to_numpy(sample.get('pred_t')),
                pred_q=to_numpy(sample.get('pred_q')), gt_t=to_numpy(sample.get('gt_t')),
                gt_q=to_numpy(sample.get('gt_q')))
            result.update(dict.fromkeys(PER_SAMPLE_KEYS))
            label_index = sample.get('label_index')
            result['label_index'] = None if label_index is None else float(label_index)
            extras = {name: to_numpy(value)
                      for name, value in (sample.get('pred_extras') or {}).items()}
            result.update({name: float(value.reshape(-1)[0])
                           for name, value in extras.items() if value.size == 1})
            if extras.get('keypoints') is not None:
                result['keypoint_err_px'] = self.keypoint_error(sample, extras['keypoints'])
            self.results.append(result)

    def keypoint_error(self, sample: Mapping, keypoints: np.ndarray) -> float | None:
        """Median distance (input pixels) of predicted ``(K, 2)`` keypoints to the body
        model's keypoints projected with the ground truth, over those inside the input (the
        lower of the two middle values for an even count, as ``torch.median``); NaN when
        none is inside, ``None`` without ground truth, camera or body model."""
        if (self.keypoints is None or sample.get('gt_t') is None or sample.get('gt_q') is None
                or sample.get('cam_K') is None or sample.get('input_size') is None):
            return None
        if keypoints.shape != (len(self.keypoints), 2):
            raise ValueError(f'PoseMetric: the predictions have keypoints of shape '
                             f'{keypoints.shape}, body_model={self.body_model!r} has '
                             f'{len(self.keypoints)} keypoints; give the evaluator the '
                             f"model's body_model (model.head.body_model)")
        uv, visible = project_keypoints(
            self.keypoints, torch.as_tensor(to_numpy(sample.get('gt_q')))[None],
            torch.as_tensor(to_numpy(sample.get('gt_t')))[None],
            torch.as_tensor(np.asarray(sample.get('cam_K'), np.float64))[None],
            torch.as_tensor(np.asarray(sample.get('input_size'), np.float64))[None])
        errors = (torch.as_tensor(keypoints) - uv[0]).norm(dim=-1)[visible[0]]
        return float(errors.median()) if len(errors) else float('nan')

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
        seq_ids = [r['seq_id'] for r in with_gt]
        errors = self.errors(arrays['pred_t'], arrays['pred_q'], arrays)
        print_log('Pose errors per sequence:\n' + self.sequence_table(seq_ids, errors),
                  logger='current')
        metrics = summarize_error_arrays(errors)
        metrics.update(num_windows=len(with_gt), num_sequences=len({str(s) for s in seq_ids}))
        metrics.update(self.keypoint_metrics(with_gt))
        metrics.update(self.status_metrics(with_gt))
        for name, kwargs in self.sequence_filters.items():
            filtered = summarize_error_arrays(self.errors(*self.filtered(with_gt, arrays, kwargs),
                                                          arrays))
            metrics.update({f'{name}/{key}': value for key, value in filtered.items()})
        return metrics

    def filtered(self, results: list[dict], arrays: dict[str, np.ndarray], kwargs: dict
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Predictions after :func:`filter_pose_sequence`, each trajectory on its own."""
        t, q = arrays['pred_t'].copy(), arrays['pred_q'].copy()
        sequences = defaultdict(list)
        for index, r in enumerate(results):
            sequences[str(r['seq_id'])].append(index)
        for index in sequences.values():
            if any(results[i]['label_index'] is None for i in index):
                continue  # no order to filter in
            index = sorted(index, key=lambda i: results[i]['label_index'])
            confidence = [1.0 if results[i]['pose_confidence'] is None
                          else results[i]['pose_confidence'] for i in index]
            t[index], q[index] = filter_pose_sequence(t[index], q[index],
                                                      np.asarray(confidence),
                                                      self.symmetries, **kwargs)
        return t, q

    @staticmethod
    def status_metrics(results: list[dict]) -> dict[str, float]:
        """Windows per pose status and the share not solved by PnP on confident keypoints."""
        codes = [int(r['pose_status']) for r in results if r.get('pose_status') is not None]
        if not codes:
            return {}
        counts = status_counts(codes)
        metrics = {f'status/{name}': count for name, count in counts.items()}
        solved = counts['pnp_ok'] + counts['regressed']
        metrics['fallback_share'] = 1 - solved / len(codes)
        return metrics

    @staticmethod
    def keypoint_metrics(results: list[dict]) -> dict[str, float]:
        """PnP success rate and keypoint pixel error of the samples that carry them.

        Samples without them (pose-regression heads) are left out, so the keys only appear
        when a keypoint head produced them; ``keypoint_err_px`` is NaN where no keypoint
        lies in the input.
        """
        metrics = {}
        pnp_ok = [r['pnp_ok'] for r in results if r.get('pnp_ok') is not None]
        if pnp_ok:
            metrics['pnp_success_rate'] = float(np.mean(np.asarray(pnp_ok) != 0))
        errors = np.asarray([r['keypoint_err_px'] for r in results
                             if r.get('keypoint_err_px') is not None], np.float64)
        errors = errors[np.isfinite(errors)]
        if errors.size:
            metrics['kpt_err_px_median'] = float(np.median(errors))
            metrics['kpt_err_px_mean'] = float(errors.mean())
        return metrics

    def errors(self, pred_t: np.ndarray, pred_q: np.ndarray, arrays: dict[str, np.ndarray]
               ) -> dict[str, np.ndarray]:
        """Per-window errors of a prediction against the ground truth in ``arrays``."""
        return pose_error_arrays(pred_t, pred_q, arrays['gt_t'], arrays['gt_q'],
                                 symmetries=self.symmetries, **self.thresholds)

    def sequence_table(self, seq_ids: list[str], errors: dict[str, np.ndarray]) -> str:
        """Text table per sequence: samples, mean position / rotation error, mean SPEED score.

        With a body model a ``rot_sym_deg`` column (mean error modulo symmetry) follows the
        rotation error, so flips show up per sequence.
        """
        scores, sym_err = errors, errors.get('rot_err_sym_deg')
        rows = defaultdict(list)
        for index, seq_id in enumerate(seq_ids):
            rows[str(seq_id)].append(index)
        sym_header = '' if sym_err is None else f'{"rot_sym_deg":>13}'
        lines = [f'{"sequence":<12}{"n":>6}{"pos_err_m":>12}{"rot_err_deg":>13}{sym_header}'
                 f'{"speed":>10}']
        for seq_id in sorted(rows):
            index = rows[seq_id]
            sym = '' if sym_err is None else f'{sym_err[index].mean():>13.3f}'
            lines.append(f'{seq_id:<12}{len(index):>6}{scores["pos_err_m"][index].mean():>12.4f}'
                         f'{scores["rot_err_deg"][index].mean():>13.3f}{sym}'
                         f'{scores["speed"][index].mean():>10.4f}')
        return '\n'.join(lines)
