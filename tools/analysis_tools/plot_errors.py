"""Plot position and rotation error against time, per sequence, from a predictions CSV.

Reads the CSV of ``tools/test.py --out`` (``id,timestamp,Tx..Qw,gt_Tx..gt_Qw``; ``id`` is
``<seq>_<index>``) and writes ``<out-dir>/<seq>.png`` per sequence: position error ``‖t̂ − t‖``
(m) and rotation error ``2·acos(|⟨q̂, q⟩|)`` (degrees) against time (s). Timestamps are in
each file's own ticks; their unit comes from ``--time-unit`` or the 10 Hz label spacing.
Example::

    python tools/analysis_tools/plot_errors.py work_dirs/x/predictions.csv --out-dir errors/
"""
import argparse
import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sparkpose.datasets import resolve_time_unit
from sparkpose.datasets.time_units import TIME_UNITS
from sparkpose.evaluation.functional import position_error, rotation_error_deg
from sparkpose.evaluation.metrics.dump_pose_predictions import POSE_COLUMNS

GT_COLUMNS = tuple(f'gt_{name}' for name in POSE_COLUMNS)


def read_errors(path: str | Path, time_unit: str = 'auto') -> dict[str, dict[str, np.ndarray]]:
    """Per-sequence time (s), position error (m) and rotation error (deg) of a predictions CSV.

    Rows without ground truth (empty ``gt_*`` cells) are left out.

    Args:
        path: CSV written by ``tools/test.py --out``.
        time_unit: Tick unit of the ``timestamp`` column: ``'100us'``, ``'us'`` or
            ``'auto'`` (from the 10 Hz label spacing of each sequence).

    Returns:
        ``{seq_id: dict(time_s=(N,), pos_err_m=(N,), rot_err_deg=(N,))}``, rows in time order.

    Raises:
        ValueError: The CSV lacks the id/timestamp/pose columns, has no ``gt_*`` columns, or
            no row with ground truth.
    """
    with open(path, newline='') as file:
        reader = csv.DictReader(file)
        header = reader.fieldnames or []
        missing = [c for c in ('id', 'timestamp', *POSE_COLUMNS) if c not in header]
        if missing:
            raise ValueError(f'{path}: columns {missing} missing; expected the CSV of '
                             f'tools/test.py --out (id,timestamp,Tx..Qw,gt_Tx..gt_Qw)')
        if any(c not in header for c in GT_COLUMNS):
            raise ValueError(f'{path}: no ground-truth columns ({", ".join(GT_COLUMNS)}); '
                             f'errors need a split with poses (test files have none)')
        rows = [row for row in reader if all(row[c] != '' for c in GT_COLUMNS)]
    if not rows:
        raise ValueError(f'{path}: no row has ground truth (all gt_* cells are empty)')
    by_seq: dict[str, list[dict]] = {}
    for row in rows:
        by_seq.setdefault(row['id'].rsplit('_', 1)[0], []).append(row)
    errors = {}
    for seq, seq_rows in sorted(by_seq.items()):
        seq_rows.sort(key=lambda row: int(row['timestamp']))
        ticks = np.array([int(row['timestamp']) for row in seq_rows])
        pred, gt = (np.array([[float(row[c]) for c in columns] for row in seq_rows])
                    for columns in (POSE_COLUMNS, GT_COLUMNS))
        unit = resolve_time_unit(f'{path} ({seq})', ticks, time_unit, None)
        errors[seq] = dict(time_s=ticks * TIME_UNITS[unit] * 1e-6,
                           pos_err_m=position_error(pred[:, :3], gt[:, :3]),
                           rot_err_deg=rotation_error_deg(pred[:, 3:], gt[:, 3:]))
    return errors


def plot_sequence(seq: str, curves: dict[str, np.ndarray], out_file: Path) -> None:
    """Write one figure: position error (top) and rotation error (bottom) against time."""
    # A bare Figure (no pyplot) renders with Agg: no display, no global figure registry.
    fig = Figure(figsize=(8, 5), layout='constrained')
    ax_t, ax_q = fig.subplots(2, 1, sharex=True)
    for ax, key, label, color in ((ax_t, 'pos_err_m', 'position error (m)', 'tab:blue'),
                                  (ax_q, 'rot_err_deg', 'rotation error (deg)', 'tab:red')):
        values = curves[key]
        ax.plot(curves['time_s'], values, '.-', color=color, markersize=3, linewidth=1)
        ax.axhline(np.median(values), color=color, linestyle='--', linewidth=0.8,
                   label=f'median {np.median(values):.3g}')
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc='upper right')
    ax_q.set_xlabel('time (s)')
    fig.suptitle(f'{seq}: {len(curves["time_s"])} samples')
    fig.savefig(out_file, dpi=100)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('csv', help='predictions CSV of tools/test.py --out')
    parser.add_argument('--out-dir', required=True, help='folder for <seq>.png')
    parser.add_argument('--time-unit', choices=['auto', *TIME_UNITS], default='auto',
                        help="tick unit of the timestamp column (default: from the 10 Hz "
                        "label spacing)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[Path]:
    """Run the tool; returns the written figure paths."""
    args = parse_args(argv)
    errors = read_errors(args.csv, args.time_unit)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for seq, curves in errors.items():
        written.append(out_dir / f'{seq}.png')
        plot_sequence(seq, curves, written[-1])
    print(f'plot_errors: wrote {len(written)} figures to {out_dir}')
    return written


if __name__ == '__main__':
    main()
