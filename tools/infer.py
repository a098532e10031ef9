"""Predict every label of SPADES files and write the challenge submission CSV.

Example::

    python tools/infer.py CONFIG CHECKPOINT data/test/ --out submission.csv \\
        [--template data/test/template.csv] [--zip] [--skip-bad]

The CSV is the challenge's: header ``timestamp,Tx,Ty,Tz,Qx,Qy,Qz,Qw`` with the row id
``<sequence>_<label index:03d>`` (e.g. ``RT901_001``) in the first column. With
``--template`` the template's header, ids and order are kept exactly (rows it does not ask
for are left out); without one, every label with a full window before it gets a row (in
SPADES label 0 sits at the recording's start, so ids begin at ``_001``).

Every input file is checked first, as ``tools/analysis_tools/check_dataset.py`` does: bad
files stop the run with one table, or with ``--skip-bad`` are listed while the good files'
rows are written. Nothing is written if a row is missing or not finite.

Each trajectory's poses go through the offline sequence filter (``--no-sequence-filter``:
raw windows); every window's status and confidence go to the side file
``<out stem>.status.csv`` (``id,status,confidence``, see ``sparkpose.apis.status_file``),
so the challenge's CSV keeps its format.
"""
import argparse
import csv
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sparkpose.apis import inference_sequence, init_model, status_path, write_status_file
from sparkpose.datasets import SPADESSequence, load_camera

HEADER = ('timestamp', 'Tx', 'Ty', 'Tz', 'Qx', 'Qy', 'Qz', 'Qw')
CAMERA_FILE = 'camera.json'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('inputs', nargs='+', type=Path, help='.h5 files or folders of RT*.h5')
    parser.add_argument('--out', type=Path, required=True, help='submission CSV')
    parser.add_argument('--template', type=Path,
                        help="the challenge's template.csv: its header, ids and order are kept")
    parser.add_argument('--camera', type=Path,
                        help=f'camera JSON for every input (default: the {CAMERA_FILE} '
                        'beside each file; a file without one is refused)')
    parser.add_argument('--skip-bad', action='store_true',
                        help='write the rows of the good files and list the bad ones '
                        '(default: stop before any work if a file is bad)')
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


def check_file(path: Path, camera: Path | None, time_unit: str, window_ms: float,
               anchor: str) -> np.ndarray:
    """Validate ``path`` and its camera; the label indices with a full window before them.

    Raises:
        ValueError, OSError: One line naming what is wrong with the file or its camera.
    """
    camera = camera or path.parent / CAMERA_FILE
    if not camera.is_file():
        raise FileNotFoundError(f'no {camera}; copy the camera file of the data there or '
                                'pass --camera FILE')
    sensor_size, _ = load_camera(str(camera))
    seq = SPADESSequence(path, time_unit=time_unit, sensor_size=sensor_size,
                         window_ms=window_ms, anchor=anchor)
    return np.flatnonzero(seq.window_us[:, 0] >= 0)


def check_inputs(files: list[Path], camera: Path | None, time_unit: str, dataset_cfg: dict
                 ) -> tuple[dict[Path, np.ndarray], dict[Path, str]]:
    """Check every file before any work: ``({good file: full-window labels}, {bad: why})``."""
    good, bad = {}, {}
    for path in tqdm(files, desc='checking', unit='file'):
        try:
            good[path] = check_file(path, camera, time_unit, dataset_cfg.get('window_ms', 100.0),
                                    dataset_cfg.get('anchor', 'end'))
        except (OSError, ValueError) as err:  # SPADESFormatError is a ValueError
            bad[path] = str(err).removeprefix(f'{path}: ')
    return good, bad


def format_bad(bad: dict[Path, str]) -> str:
    """The bad files as one aligned table: file, problem."""
    width = max(len(str(path)) for path in bad)
    return '\n'.join(f'{str(path).ljust(width)}  {why}' for path, why in bad.items())


def read_template(template: Path) -> tuple[list[str], list[str]]:
    """The template's header and its row ids (first column), in order."""
    with open(template, newline='') as f:
        table = [row for row in csv.reader(f) if row]
    if not table or tuple(table[0]) != HEADER:
        found = ','.join(table[0]) if table else 'an empty file'
        raise SystemExit(f'{template}: expected the header {",".join(HEADER)} with the row id '
                         f'(e.g. RT901_001) in the first column, found {found}')
    return table[0], [row[0] for row in table[1:]]


def order_rows(rows: dict[str, list], ids: list[str] | None, source: str,
               skipped: set[str] = frozenset()) -> list[list]:
    """Rows in id order, or in the template's order (extras left out); refuses gaps.

    Rows of the ``skipped`` sequences (``--skip-bad``) are left out instead of refused.
    """
    if ids is None:
        return [rows[key] for key in sorted(rows)]
    ids = [i for i in ids if i.rsplit('_', 1)[0] not in skipped]
    missing = [i for i in ids if i not in rows]
    if missing:
        raise SystemExit(f'{source}: {len(missing)} asked-for row(s) the data cannot give: '
                         f'{missing[:10]}{" ..." if len(missing) > 10 else ""}')
    return [rows[i] for i in ids]


def predict_rows(model, files: dict[Path, np.ndarray], args: argparse.Namespace,
                 bad: dict[Path, str], sequences: list) -> dict[str, list]:
    """``{id: [id, Tx..Qw]}`` for every full-window label; a file that fails joins ``bad``,
    each file's :class:`~sparkpose.apis.SequencePoses` is appended to ``sequences``."""
    rows = {}
    sequence_filter = None if args.no_sequence_filter else {}
    for path, full in tqdm(files.items(), desc='sequences', unit='seq'):
        try:
            poses = inference_sequence(model, path, args.time_unit, smoothing=args.smoothing,
                                       sequence_filter=sequence_filter)
        except (OSError, ValueError, RuntimeError) as err:
            if not args.skip_bad:
                raise SystemExit(f'{path}: {err}') from None
            bad[path] = str(err)
            continue
        sequences.append(poses)
        keep = np.isin(poses.label_index, full)
        for index, t, q in zip(poses.label_index[keep], poses.t[keep], poses.q[keep]):
            row_id = f'{poses.seq_id}_{index:03d}'
            rows[row_id] = [row_id, *t, *q]
    return rows


def write_csv(path: Path, header: list[str] | tuple[str, ...], rows: list[list]) -> None:
    """Write the submission; every value but the id with 9 significant digits."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([row[0], *(f'{v:.9g}' for v in row[1:])] for row in rows)


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    header, ids = read_template(args.template) if args.template else (HEADER, None)
    files = find_files(args.inputs)
    cfg_options = {'model.test_cfg.flip_test': True} if args.flip_tta else None
    model = init_model(args.config, args.checkpoint, args.device, cfg_options)
    dataset_cfg = model.cfg.test_dataloader.dataset
    if args.camera:
        dataset_cfg.camera_file = str(args.camera.resolve())
    good, bad = check_inputs(files, args.camera, args.time_unit, dataset_cfg)
    if bad and not args.skip_bad:
        raise SystemExit(f'{len(bad)} of {len(files)} input file(s) unusable (nothing '
                         f'computed; --skip-bad writes the rows of the others):\n'
                         f'{format_bad(bad)}')
    sequences = []
    rows = predict_rows(model, good, args, bad, sequences)
    ordered = order_rows(rows, ids, str(args.template), {path.stem for path in bad})
    nonfinite = [row[0] for row in ordered if not np.isfinite(row[1:]).all()]
    if nonfinite:
        raise SystemExit(f'refusing to write {args.out}: non-finite predictions in '
                         f'{nonfinite[:10]}{" ..." if len(nonfinite) > 10 else ""}')
    write_csv(args.out, header, ordered)
    statuses = write_status_file(status_path(args.out), sequences)
    if args.zip:
        with zipfile.ZipFile(args.out.with_name('submission.zip'), 'w',
                             zipfile.ZIP_DEFLATED) as archive:
            archive.write(args.out, args.out.name)
    print(f'{args.out}: {len(ordered)} rows from {len(good.keys() - bad.keys())} files; '
          f'statuses in {statuses}')
    if bad:
        print(f'{len(bad)} file(s) skipped:\n{format_bad(bad)}')
    return args.out


if __name__ == '__main__':
    main()
