"""Print a model's test metrics beside the mean-pose and random-rotation references.

The mean-pose baseline always predicts the mean translation and the chordal-mean rotation
of the training split: a model that does not beat it has learned nothing from the events.
The random-rotation reference pairs uniformly random rotations with that mean translation:
its rotation error (≈126° mean) is what a model scores that has learned nothing about
attitude, even where the mean pose happens to be close for a narrow split. With a body
model, the errors modulo its symmetries show how much of the error is symmetry flips.

Example::

    python tools/analysis_tools/compare_to_baseline.py work_dirs/demo/test/metrics.json \\
        --data-root data/demo --train-split train.txt --eval-split test.txt
"""
import argparse
import json
from pathlib import Path

import numpy as np

from sparkpose.datasets import read_labels, read_split
from sparkpose.evaluation.functional import (
    ROTATION_ACCURACY_THRESHOLDS_DEG,
    mean_pose,
    mean_pose_baseline,
    summarize_pose_errors,
)
from sparkpose.structures import BODY_FILE, load_body_model

# Keys every metrics JSON has had since PoseMetric existed: without them there is no table.
REQUIRED = ('pos_err_m', 'rot_err_deg', 'speed')
RANDOM_SEED = 0  # fixed: the reference row must not change between runs
RANDOM_DRAWS = 100  # random rotations per ground-truth pose; the mean is stable to ~1°

ERROR_ROWS = (('position error (m)', 'pos_err_m'), ('rotation error (deg)', 'rot_err_deg'),
              ('rotation error mod symmetry (deg)', 'rot_err_sym_deg'))


def table_rows(with_symmetry: bool) -> list[tuple[str, str, str, bool]]:
    """The table's rows, in order; the symmetric rows only ``with_symmetry``.

    Returns:
        ``(label, metric key, number format, whether a model / baseline ratio means
        something)`` per row.
    """
    rows = []
    for label, key in ERROR_ROWS:
        if key != 'rot_err_sym_deg' or with_symmetry:
            rows += [(f'{label}, {stat}', f'{key}_{stat}', '.3f', True)
                     for stat in ('mean', 'median')]
    for name, key in (('rotation error', 'rot_acc'), ('rotation error mod symmetry',
                                                      'rot_sym_acc')):
        if key != 'rot_sym_acc' or with_symmetry:
            rows += [(f'{name} < {t:g} deg (fraction)', f'{key}_{t:g}', '.3f', False)
                     for t in ROTATION_ACCURACY_THRESHOLDS_DEG]
    rows += [(f'SPEED score, {stat}', f'speed_{stat}', '.3f', True) for stat in ('mean', 'median')]
    rows += [('sequences', 'num_sequences', 'd', False), ('windows', 'num_windows', 'd', False)]
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('metrics', type=Path, help='metrics JSON written by tools/test.py')
    parser.add_argument('--data-root', type=Path, required=True)
    parser.add_argument('--train-split', default='train.txt')
    parser.add_argument('--eval-split', default='test.txt')
    parser.add_argument('--prefix', default='pose', help='metric prefix in the JSON')
    parser.add_argument('--body-model', type=Path, default=None,
                        help=f'body model JSON whose symmetries give the rotation error modulo '
                             f'symmetry (default: <data-root>/{BODY_FILE} if it exists)')
    return parser.parse_args(argv)


def split_poses(data_root: Path, split: str) -> tuple[np.ndarray, np.ndarray, int]:
    """All labelled ``t`` ``(N, 3)`` and ``q`` ``(N, 4)`` of a split's files, and their number."""
    names = read_split(str(data_root), str(data_root / split))
    labels = np.concatenate([read_labels(data_root / f'{name}.h5') for name in names])
    if 'Tx' not in labels.dtype.names:
        raise SystemExit(f'{data_root}/{split}: the files have no poses (test files?)')
    t = np.stack([labels[k] for k in ('Tx', 'Ty', 'Tz')], axis=1)
    q = np.stack([labels[k] for k in ('Qx', 'Qy', 'Qz', 'Qw')], axis=1)
    return t, q, len(names)


def random_rotation_baseline(train_t: np.ndarray, eval_t: np.ndarray, eval_q: np.ndarray,
                             symmetries: np.ndarray | None = None, draws: int = RANDOM_DRAWS,
                             seed: int = RANDOM_SEED) -> dict[str, float]:
    """Errors of uniformly random rotations paired with the training mean translation.

    Each evaluation pose is scored against ``draws`` rotations (normalised standard normal
    4-vectors are uniform on SO(3)), so the figures barely depend on the seed.

    Args:
        train_t: ``(N, 3)`` training translations (m); their mean is the predicted one.
        eval_t, eval_q: ``(M, 3)`` / ``(M, 4)`` evaluation poses.
        symmetries: ``(S, 3, 3)`` body symmetries, or None.
        draws: Random rotations per evaluation pose.
        seed: Seed of ``numpy.random.default_rng``.

    Returns:
        The ``summarize_pose_errors`` dict over ``draws · M`` pairs.
    """
    eval_t = np.repeat(np.asarray(eval_t, np.float64).reshape(-1, 3), draws, axis=0)
    eval_q = np.repeat(np.asarray(eval_q, np.float64).reshape(-1, 4), draws, axis=0)
    pred_q = np.random.default_rng(seed).normal(size=eval_q.shape)
    pred_q /= np.linalg.norm(pred_q, axis=1, keepdims=True)
    t_mean = np.asarray(train_t, np.float64).reshape(-1, 3).mean(0)
    return summarize_pose_errors(np.broadcast_to(t_mean, eval_t.shape), pred_q, eval_t, eval_q,
                                 symmetries=symmetries)


def format_value(value: float | None, number_format: str) -> str:
    """One table cell; ``-`` where the figure is missing (e.g. an older metrics file)."""
    if value is None or not np.isfinite(value):
        return '-'
    return str(int(value)) if number_format == 'd' else f'{value:{number_format}}'


def format_table(model: dict[str, float], baseline: dict[str, float],
                 random: dict[str, float] | None = None,
                 with_symmetry: bool | None = None) -> str:
    """Markdown table: model, mean-pose baseline, random rotation, model / baseline.

    Args:
        model, baseline, random: Figures by ``summarize_pose_errors`` key (without prefix),
            plus ``num_sequences`` / ``num_windows``; a missing key prints ``-``.
        with_symmetry: Show the rows modulo symmetry; default: when any column has them.

    Returns:
        The table; the ratio column is filled for errors and scores only (for fractions and
        counts "smaller" does not mean "better").
    """
    columns = [model, baseline, random or {}]
    if with_symmetry is None:
        with_symmetry = any('rot_err_sym_deg_mean' in column for column in columns)
    lines = ['| metric | model | mean-pose baseline | random rotation | model / baseline |',
             '|---|---:|---:|---:|---:|']
    for label, key, number_format, ratio in table_rows(with_symmetry):
        cells = [format_value(column.get(key), number_format) for column in columns]
        ours, base = model.get(key), baseline.get(key)
        quotient = (f'{ours / base:.2f}' if ratio and ours is not None and base
                    and np.isfinite(ours / base) else '-')
        lines.append(f'| {label} | {" | ".join(cells)} | {quotient} |')
    return '\n'.join(lines)


def resolve_body_model(args: argparse.Namespace) -> Path | None:
    """``--body-model``, else ``<data-root>/body.json`` where it exists, else None."""
    if args.body_model is not None:
        if not args.body_model.is_file():
            raise SystemExit(f'--body-model {args.body_model}: no such file; expected a '
                             f'{BODY_FILE} as the generator writes next to the data')
        return args.body_model
    default = args.data_root / BODY_FILE
    return default if default.is_file() else None


def main(argv: list[str] | None = None) -> str:
    args = parse_args(argv)
    if not args.metrics.is_file():
        raise SystemExit(f'{args.metrics}: no metrics file (run tools/test.py first)')
    metrics = json.loads(args.metrics.read_text())
    metrics = metrics.get('metrics', metrics)  # tools/test.py nests them beside its inputs
    prefix = f'{args.prefix}/'
    model = {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}
    missing = [f'{prefix}{key}_{stat}' for key in REQUIRED for stat in ('mean', 'median')
               if f'{key}_{stat}' not in model]
    if missing:
        raise SystemExit(f'{args.metrics}: missing {", ".join(missing)}')
    body_path = resolve_body_model(args)
    try:
        symmetries = None if body_path is None else load_body_model(str(body_path)).symmetries
    except ValueError as error:
        raise SystemExit(str(error)) from None
    train_t, train_q, _ = split_poses(args.data_root, args.train_split)
    eval_t, eval_q, num_sequences = split_poses(args.data_root, args.eval_split)
    counts = dict(num_sequences=num_sequences, num_windows=len(eval_t))
    baseline = mean_pose_baseline(train_t, train_q, eval_t, eval_q, symmetries=symmetries)
    random = random_rotation_baseline(train_t, eval_t, eval_q, symmetries)
    table = format_table(model, {**baseline, **counts}, {**random, **counts},
                         with_symmetry=symmetries is not None or 'rot_err_sym_deg_mean' in model)
    t_mean, _ = mean_pose(train_t, train_q)
    body = f'symmetries of {body_path}' if body_path else f'no body model (no {BODY_FILE})'
    print(f'Held-out split {args.eval_split} of {args.data_root} ({body}; random rotation: '
          f'{RANDOM_DRAWS} uniform draws per window, seed {RANDOM_SEED}, with the mean '
          f'translation {np.round(t_mean, 3).tolist()} m):\n{table}')
    return table


if __name__ == '__main__':
    main()
