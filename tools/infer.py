"""Predict every label of SPADES files and write the challenge submission CSV.

Example::

    python tools/infer.py CONFIG CHECKPOINT data/test/ --out submission.csv \\
        [--template template.csv] [--skip-bad] [--zip]

The CSV is the challenge's: the header ``timestamp,Tx,Ty,Tz,Qx,Qy,Qz,Qw`` with the row id
``<sequence>_<label index:03d>`` (e.g. ``RT901_001``) in its first column, one row for
every label with a full window before it (none for a label at the file's time origin).
With ``--template`` the template's header, ids and order are kept exactly: rows it does not
ask for are left out, and rows it asks for that the data cannot give are an error naming
them. Every input file is checked first, as ``check_dataset.py`` does; a bad file stops the
run before any model work (``--skip-bad``: its rows are left out and it is listed).
Nothing is written if any row is missing or not finite.
"""
import argparse
import csv
import os.path as osp
import zipfile
from pathlib import Path

import numpy as np
from mmengine.config import Config
from tqdm import tqdm

from sparkpose.apis import inference_sequence, init_model
from sparkpose.datasets import SPADES_CAMERA, load_camera
from sparkpose.datasets.file_checks import FileReport, check_file, format_table

HEADER = ('timestamp', 'Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('inputs', nargs='+', type=Path, help='.h5 files or folders of RT*.h5')
    parser.add_argument('--out', type=Path, required=True, help='submission CSV')
    parser.add_argument('--template', type=Path,
                        help="the challenge's template CSV: its header, ids and row order")
    parser.add_argument('--skip-bad', action='store_true',
                        help='leave out files that fail the check (listed) instead of stopping')
    parser.add_argument('--zip', action='store_true', help='also write submission.zip')
    parser.add_argument('--time-unit', choices=('auto', '100us', 'us'), default='auto')
    parser.add_argument('--smoothing', type=int, help='odd temporal smoothing window')
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


def check_files(files: list[Path], time_unit: str, window_ms: float) -> list[FileReport]:
    """One report per file, validated as the reader will read it (its folder's camera)."""
    reports = []
    for path in files:
        report = FileReport(str(path), ['-'])
        try:
            sensor_size = load_camera(osp.join(path.parent, 'camera.json'))[0]
        except ValueError as err:
            report.unusable = str(err)
            sensor_size = (SPADES_CAMERA['Nu'], SPADES_CAMERA['Nv'])
        if not report.unusable:
            check_file(str(path), report, sensor_size, time_unit, window_ms)
        reports.append(report)
    return reports


def read_template(template: Path) -> tuple[list[str], list[str]]:
    """The template's header and the ids of its first column, in order."""
    try:
        with open(template, newline='') as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as err:
        raise SystemExit(f'{template}: not a readable CSV ({err})') from None
    if not rows or len(rows[0]) != len(HEADER):
        raise SystemExit(f'{template}: expected a header of {len(HEADER)} columns like '
                         f'{",".join(HEADER)}, got {rows[0] if rows else "an empty file"}')
    return rows[0], [row[0] for row in rows[1:] if row]


def order_rows(rows: dict[str, list], template_ids: list[str] | None,
               template: Path | None) -> list[list]:
    """Rows in id order, or the template's rows in its order; refuses ids it cannot give."""
    if template_ids is None:
        return [rows[key] for key in sorted(rows)]
    missing = [i for i in template_ids if i not in rows]
    if missing:
        raise SystemExit(f'{template}: {len(missing)} row(s) the data cannot give (no such '
                         f'file or label, or no full window before the label): '
                         f'{missing[:10]}{" ..." if len(missing) > 10 else ""}')
    return [rows[i] for i in template_ids]


def predict_rows(model, files: list[Path], args: argparse.Namespace,
                 failed: list[str]) -> dict[str, list]:
    """``{id: [id, Tx, ..., Qw]}`` for every label with a full window of ``files``."""
    rows = {}
    for path in tqdm(files, desc='sequences', unit='seq'):
        try:
            poses = inference_sequence(model, path, args.time_unit, smoothing=args.smoothing)
        except (OSError, ValueError) as err:  # a file damaged after the check
            if not args.skip_bad:
                raise SystemExit(f'{path}: {err}') from None
            failed.append(f'{path}: {err}')
            continue
        for k in np.flatnonzero(poses.full_window):
            row_id = f'{poses.seq_id}_{int(poses.label_index[k]):03d}'
            rows[row_id] = [row_id, *poses.t[k], *poses.q[k]]
    return rows


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    files = find_files(args.inputs)
    header, template_ids = read_template(args.template) if args.template else (HEADER, None)
    cfg = Config.fromfile(args.config)
    reports = check_files(files, args.time_unit,
                          cfg.test_dataloader.dataset.get('window_ms', 100.0))
    bad = [r for r in reports if r.unusable]
    if bad and not args.skip_bad:
        raise SystemExit(f'{format_table(bad)}\n{len(bad)} of {len(files)} input file(s) '
                         f'unusable; nothing written (--skip-bad leaves them out)')
    cfg_options = {'model.test_cfg.flip_test': True} if args.flip_tta else None
    model = init_model(cfg, args.checkpoint, args.device, cfg_options)
    failed = [f'{r.name}: {r.unusable}' for r in bad]
    good = [path for path, report in zip(files, reports) if not report.unusable]
    ordered = order_rows(predict_rows(model, good, args, failed), template_ids, args.template)
    not_finite = [row[0] for row in ordered if not np.isfinite(row[1:]).all()]
    if not_finite:
        raise SystemExit(f'refusing to write {args.out}: non-finite predictions in '
                         f'{not_finite[:10]}{" ..." if len(not_finite) > 10 else ""}')
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([row[0], *(f'{v:.9g}' for v in row[1:])] for row in ordered)
    if args.zip:
        with zipfile.ZipFile(args.out.with_name('submission.zip'), 'w',
                             zipfile.ZIP_DEFLATED) as archive:
            archive.write(args.out, args.out.name)
    print(f'{args.out}: {len(ordered)} rows from {len(files) - len(failed)} files')
    for line in failed:
        print(f'skipped {line}')
    return args.out


if __name__ == '__main__':
    main()
