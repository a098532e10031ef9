"""Print a model's test metrics beside the mean-pose baseline on the same sequences.

The baseline always predicts the mean translation and the chordal-mean rotation of the
training split: a model that does not beat it has learned nothing from the events.

Example::

    python tools/analysis_tools/compare_to_baseline.py work_dirs/demo/test/metrics.json \\
        --data-root data/demo --train-split train.txt --eval-split test.txt
"""
import argparse
import json
from pathlib import Path

import numpy as np

from sparkpose.datasets import read_labels, read_split
from sparkpose.evaluation.functional import mean_pose_baseline

ROWS = (('position error (m)', 'pos_err_m'), ('rotation error (deg)', 'rot_err_deg'),
        ('SPEED score', 'speed'))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('metrics', type=Path, help='metrics JSON written by tools/test.py')
    parser.add_argument('--data-root', type=Path, required=True)
    parser.add_argument('--train-split', default='train.txt')
    parser.add_argument('--eval-split', default='test.txt')
    parser.add_argument('--prefix', default='pose', help='metric prefix in the JSON')
    return parser.parse_args(argv)


def split_poses(data_root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """All labelled ``t`` ``(N, 3)`` and ``q`` ``(N, 4)`` of a split's files."""
    names = read_split(str(data_root), str(data_root / split))
    labels = np.concatenate([read_labels(data_root / f'{name}.h5') for name in names])
    if 'Tx' not in labels.dtype.names:
        raise SystemExit(f'{data_root}/{split}: the files have no poses (test files?)')
    t = np.stack([labels[k] for k in ('Tx', 'Ty', 'Tz')], axis=1)
    q = np.stack([labels[k] for k in ('Qx', 'Qy', 'Qz', 'Qw')], axis=1)
    return t, q


def format_table(model: dict[str, float], baseline: dict[str, float]) -> str:
    """Markdown table: model, baseline and their ratio for mean and median of each error."""
    lines = ['| metric | model | mean-pose baseline | model / baseline |',
             '|---|---:|---:|---:|']
    for label, key in ROWS:
        for stat in ('mean', 'median'):
            ours, base = model[f'{key}_{stat}'], baseline[f'{key}_{stat}']
            lines.append(f'| {label}, {stat} | {ours:.3f} | {base:.3f} | {ours / base:.2f} |')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> str:
    args = parse_args(argv)
    if not args.metrics.is_file():
        raise SystemExit(f'{args.metrics}: no metrics file (run tools/test.py first)')
    metrics = json.loads(args.metrics.read_text())
    metrics = metrics.get('metrics', metrics)  # tools/test.py nests them beside its inputs
    prefix = f'{args.prefix}/'
    model = {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}
    missing = [f'{prefix}{key}_{stat}' for _, key in ROWS for stat in ('mean', 'median')
               if f'{key}_{stat}' not in model]
    if missing:
        raise SystemExit(f'{args.metrics}: missing {", ".join(missing)}')
    baseline = mean_pose_baseline(*split_poses(args.data_root, args.train_split),
                                  *split_poses(args.data_root, args.eval_split))
    table = format_table(model, baseline)
    print(f'Held-out split {args.eval_split} of {args.data_root}:\n{table}')
    return table


if __name__ == '__main__':
    main()
