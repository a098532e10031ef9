"""Per-window poses against the same poses filtered as trajectories, offline and causal.

Reads a ``tools/test.py --out`` CSV (predictions, the ``estimated`` flag and ground truth),
filters each sequence's windows with :func:`sparkpose.apis.filter_sequence` and prints the
errors of the raw, offline and causal poses side by side. Example::

    python tools/test.py CONFIG CHECKPOINT --out work_dirs/x/predictions.csv
    python tools/analysis_tools/evaluate_sequence_filter.py work_dirs/x/predictions.csv \\
        --body-model data/demo/body.json
"""
import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from sparkpose.apis import SequenceFilterConfig, filter_sequence
from sparkpose.evaluation.functional import summarize_pose_errors
from sparkpose.structures import load_body_model

POSE = ('Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('predictions', type=Path, help='CSV of tools/test.py --out')
    parser.add_argument('--body-model', type=Path, required=True,
                        help='body.json whose symmetries the filter and the metric use')
    parser.add_argument('--json', type=Path, help='also write the figures to this file')
    return parser.parse_args(argv)


def read_sequences(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """``{seq_id: {pose, gt, estimated}}`` in label order."""
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    missing = {'estimated', *(f'gt_{k}' for k in POSE)} - set(rows[0] if rows else ())
    if missing:
        raise SystemExit(f'{path}: lacks the columns {sorted(missing)}; write it with '
                         f'tools/test.py --out on data with poses')
    grouped = defaultdict(list)
    for row in rows:
        seq_id, index = row['id'].rsplit('_', 1)
        grouped[seq_id].append((int(index), row))
    sequences = {}
    for seq_id, items in grouped.items():
        items.sort(key=lambda item: item[0])
        sequences[seq_id] = dict(
            pose=np.array([[float(r[k]) for k in POSE] for _, r in items]),
            gt=np.array([[float(r[f'gt_{k}']) for k in POSE] for _, r in items]),
            estimated=np.array([r['estimated'] == '1' for _, r in items]))
    return sequences


def evaluate(sequences: dict, symmetries: np.ndarray) -> dict[str, dict[str, float]]:
    """Error summaries of the raw poses and of each filter variant over all windows: the
    full filter offline and causal, and offline without symmetric copies (identity only)
    or without the final smoothing, which says what each part adds."""
    identity = np.eye(3)[None]
    variants = {'offline': (symmetries, SequenceFilterConfig()),
                'causal': (symmetries, SequenceFilterConfig(mode='causal')),
                'offline, no symmetric copies': (identity, SequenceFilterConfig()),
                'offline, no smoothing': (symmetries, SequenceFilterConfig(smooth_window=1)),
                'causal, no symmetric copies': (identity, SequenceFilterConfig(mode='causal'))}
    poses = defaultdict(list)
    for seq in sequences.values():
        poses['raw'].append(seq['pose'])
        for name, (hypotheses, config) in variants.items():
            t, q, _ = filter_sequence(seq['pose'][:, :3], seq['pose'][:, 3:], seq['estimated'],
                                      hypotheses, config)
            poses[name].append(np.c_[t, q])
    gt = np.concatenate([seq['gt'] for seq in sequences.values()])
    return {name: summarize_pose_errors(np.concatenate(p)[:, :3], np.concatenate(p)[:, 3:],
                                        gt[:, :3], gt[:, 3:], symmetries=symmetries)
            for name, p in poses.items()}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    sequences = read_sequences(args.predictions)
    symmetries = np.asarray(load_body_model(str(args.body_model)).symmetries)
    figures = evaluate(sequences, symmetries)
    windows = sum(len(seq['pose']) for seq in sequences.values())
    fallback = sum(int((~seq['estimated']).sum()) for seq in sequences.values())
    print(f'{args.predictions}: {len(sequences)} sequences, {windows} windows, '
          f'{fallback} ({fallback / max(windows, 1):.1%}) with a fallback pose')
    print('| poses | rot median (deg) | rot mean (deg) | rot < 30 deg | rot mod sym mean (deg) '
          '| SPEED median | SPEED mean |\n|---|---:|---:|---:|---:|---:|---:|')
    for name, f in figures.items():
        print(f'| {name} | {f["rot_err_deg_median"]:.2f} | {f["rot_err_deg_mean"]:.2f} | '
              f'{f["rot_acc_30"]:.3f} | {f["rot_err_sym_deg_mean"]:.2f} | '
              f'{f["speed_median"]:.3f} | {f["speed_mean"]:.3f} |')
    if args.json:
        args.json.write_text(json.dumps(dict(windows=windows, sequences=len(sequences),
                                             fallback=fallback, **figures), indent=2))
    return figures


if __name__ == '__main__':
    main()
