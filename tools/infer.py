"""Predict every label of SPADES files and write the challenge submission CSV.

Example::

    python tools/infer.py CONFIG CHECKPOINT data/test/ --out submission.csv \\
        [--template sample_submission.csv] [--zip]

Rows are ``id,timestamp,Tx,Ty,Tz,Qx,Qy,Qz,Qw`` with ids ``<sequence>_<index:03d>``
(e.g. ``RT901_001``); with ``--template`` the template's rows are filled in its order.
Nothing is written if any row is missing or not finite. Each trajectory's poses go
through the offline sequence filter (``--no-sequence-filter``: raw windows); every
window's status and confidence go to the side file ``<out stem>.status.csv``
(``id,status,confidence``, see ``sparkpose.apis.status_file``).
"""
import argparse
import csv
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sparkpose.apis import inference_sequence, init_model, status_path, write_status_file

COLUMNS = ('id', 'timestamp', 'Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('inputs', nargs='+', type=Path, help='.h5 files or folders of RT*.h5')
    parser.add_argument('--out', type=Path, required=True, help='submission CSV')
    parser.add_argument('--template', type=Path, help='CSV whose id column fixes the rows')
    parser.add_argument('--zip', action='store_true', help='also write submission.zip')
    parser.add_argument('--time-unit', choices=('auto', '100us', 'us'), default='auto')
    parser.add_argument('--smoothing', type=int, help='odd temporal smoothing window')
    parser.add_argument('--no-sequence-filter', action='store_true',
                        help='raw per-window poses (default: the offline sequence filter)')
    parser.add_argument('--flip-tta', action='store_true',
                        help='also predict the mirrored input and merge (model.test_cfg.flip_test)')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def find_files(inputs: list[Path]) -> list[Path]:
    """The trajectory files named or contained in ``inputs``, sorted by name."""
    files = []
    for item in inputs:
        if item.is_dir():
            files += sorted(item.glob('RT*.h5'))
        elif item.is_file():
            files.append(item)
        else:
            raise SystemExit(f'{item}: no such file or folder')
    if not files:
        raise SystemExit(f'no RT*.h5 files in {", ".join(map(str, inputs))}')
    return sorted(files, key=lambda p: p.stem)


def order_rows(rows: dict[str, list], template: Path | None) -> list[list]:
    """Rows in name order, or in the template's order; refuses gaps and extras."""
    if template is None:
        return [rows[key] for key in sorted(rows)]
    with open(template, newline='') as f:
        ids = [row['id'] for row in csv.DictReader(f)]
    missing = [i for i in ids if i not in rows]
    extra = sorted(set(rows) - set(ids))
    if missing or extra:
        raise SystemExit(f'{template}: {len(missing)} template ids without prediction '
                         f'{missing[:10]}, {len(extra)} predictions not in the template '
                         f'{extra[:10]}')
    return [rows[i] for i in ids]


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    files = find_files(args.inputs)
    cfg_options = {'model.test_cfg.flip_test': True} if args.flip_tta else None
    model = init_model(args.config, args.checkpoint, args.device, cfg_options)
    rows, sequences = {}, []
    sequence_filter = None if args.no_sequence_filter else {}
    for path in tqdm(files, desc='sequences', unit='seq'):
        poses = inference_sequence(model, path, args.time_unit, smoothing=args.smoothing,
                                   sequence_filter=sequence_filter)
        sequences.append(poses)
        for k, index in enumerate(poses.label_index):
            row_id = f'{poses.seq_id}_{index:03d}'
            rows[row_id] = [row_id, int(poses.timestamp[k]), *poses.t[k], *poses.q[k]]
    ordered = order_rows(rows, args.template)
    bad = [row[0] for row in ordered if not np.isfinite(row[2:]).all()]
    if bad:
        raise SystemExit(f'refusing to write {args.out}: non-finite predictions in {bad[:10]}'
                         f'{" ..." if len(bad) > 10 else ""}')
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows([row[0], row[1], *(f'{v:.9g}' for v in row[2:])] for row in ordered)
    statuses = write_status_file(status_path(args.out), sequences)
    if args.zip:
        with zipfile.ZipFile(args.out.with_name('submission.zip'), 'w',
                             zipfile.ZIP_DEFLATED) as archive:
            archive.write(args.out, args.out.name)
    print(f'{args.out}: {len(ordered)} rows from {len(files)} files; statuses in {statuses}')
    return args.out


if __name__ == '__main__':
    main()
