"""Writes every prediction (and ground truth, where known) to a CSV file."""
import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from sparkpose.registry import METRICS
from sparkpose.structures import status_name

from .pose_metric import to_numpy

POSE_COLUMNS = ('Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw')


@METRICS.register_module()
class DumpPosePredictions(BaseMetric):
    """Dump predictions to ``out_file``, one row per sample, sorted by (seq_id, label_index).

    Columns: ``id,timestamp,Tx,Ty,Tz,Qx,Qy,Qz,Qw`` (metres; scalar-last quaternion), plus
    ``gt_Tx … gt_Qw`` when any sample has ground truth (empty where a sample has none),
    plus ``status,confidence`` (the raw window's pose status name and confidence) when
    the samples carry ``pose_status`` in their ``pred_extras``.
    ``id`` is ``f'{seq_id}_{label_index:03d}'`` (e.g. ``RT901_001``); ``timestamp`` is the
    label timestamp in the file's own ticks. Like mmdet's ``DumpDetResults``, it computes
    no metric.

    Args:
        out_file: Path of the CSV to write (parent folders are created).
        collect_device: ``'cpu'`` or ``'gpu'``, for collecting results across ranks.
        prefix: Unused key prefix (kept for the ``BaseMetric`` interface).
    """

    default_prefix = 'dump'

    def __init__(self, out_file: str, collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not str(out_file).endswith('.csv'):
            raise ValueError(f'DumpPosePredictions: out_file must end with .csv, got {out_file!r}')
        self.out_file = out_file

    def process(self, data_batch, data_samples: Sequence[Mapping]) -> None:
        """Keep identity, prediction and ground truth of each sample."""
        for sample in data_samples:
            missing = [k for k in ('seq_id', 'label_index', 'timestamp', 'pred_t', 'pred_q')
                       if sample.get(k) is None]
            if missing:
                raise KeyError(f'DumpPosePredictions: a data sample lacks {missing}')
            gt_t, gt_q = to_numpy(sample.get('gt_t')), to_numpy(sample.get('gt_q'))
            extras = sample.get('pred_extras') or {}
            self.results.append(dict(
                seq_id=str(sample.get('seq_id')), label_index=int(sample.get('label_index')),
                timestamp=int(sample.get('timestamp')),
                pose=[*to_numpy(sample.get('pred_t')), *to_numpy(sample.get('pred_q'))],
                gt=None if gt_t is None or gt_q is None else [*gt_t, *gt_q],
                status=(None if extras.get('pose_status') is None else
                        [status_name(int(extras['pose_status'])),
                         f'{float(extras.get("pose_confidence", 1.0)):.4f}'])))

    def compute_metrics(self, results: list[dict]) -> dict:
        """Write the CSV; returns ``{}``."""
        with_gt = any(r['gt'] is not None for r in results)
        header = ['id', 'timestamp', *POSE_COLUMNS]
        if with_gt:
            header += [f'gt_{name}' for name in POSE_COLUMNS]
        with_status = all(r['status'] is not None for r in results) and bool(results)
        if with_status:
            header += ['status', 'confidence']
        path = Path(self.out_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open('w', newline='') as file:
            writer = csv.writer(file)
            writer.writerow(header)
            for r in sorted(results, key=lambda r: (r['seq_id'], r['label_index'])):
                row = [f'{r["seq_id"]}_{r["label_index"]:03d}', r['timestamp'],
                       *(f'{v:.9g}' for v in r['pose'])]
                if with_gt:
                    row += ([f'{v:.9g}' for v in r['gt']] if r['gt'] is not None
                            else [''] * len(POSE_COLUMNS))
                if with_status:
                    row += r['status']
                writer.writerow(row)
        print_log(f'DumpPosePredictions: wrote {len(results)} rows to {path}', logger='current')
        return {}
