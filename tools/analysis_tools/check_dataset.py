"""Check a downloaded SPADES folder before training: every file of every split, one table.

Each file is opened and validated exactly as the training reader does (layout, dtypes,
sorted ``ts``, coordinates inside the sensor, labels, timestamp unit), and summarised by
its unit, label count, events per window and gaps. Unlike training, which stops at the
first bad file, every problem is reported; the exit code is 1 when any file (or
``camera.json``, or a split list) is unusable, 0 otherwise. Warnings (empty windows, gaps
between labels) do not fail the check. Example::

    python tools/analysis_tools/check_dataset.py data/spades
    python tools/analysis_tools/check_dataset.py data/spades --splits train.txt val.txt
"""
import argparse
import glob
import os.path as osp
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sparkpose.datasets import SPADES_CAMERA, SPADESSequence, load_camera, read_split
from sparkpose.datasets.time_units import LABEL_PERIOD_US

GAP_FACTOR = 1.5  # a label spacing above 1.5x the nominal 100 ms is reported as a gap


@dataclass
class FileReport:
    """One row of the table: a file, the splits listing it and what was found."""

    name: str
    splits: list[str]
    unusable: str = ''
    unit: str = ''
    labels: int = 0
    pose: bool = False
    events_per_window: tuple[int, int, int] | None = None  # min, median, max
    warnings: list[str] = field(default_factory=list)


def check_file(path: str, report: FileReport, sensor_size: tuple[int, int],
               time_unit: str, window_ms: float) -> None:
    """Validate ``path`` as :class:`SPADESSequence` does and fill ``report``."""
    try:
        seq = SPADESSequence(path, time_unit=time_unit, sensor_size=sensor_size,
                             window_ms=window_ms)
    except (OSError, ValueError) as err:  # SPADESFormatError is a ValueError
        report.unusable = str(err).removeprefix(f'{path}: ')
        return
    counts = np.diff(seq.event_slices, axis=1)[:, 0]
    report.unit, report.labels, report.pose = seq.time_unit, len(seq), seq.has_pose
    report.events_per_window = (int(counts.min()), int(np.median(counts)), int(counts.max()))
    empty = int((counts == 0).sum())
    if empty:
        report.warnings.append(f'{empty} empty window(s), first at label '
                               f'{int(np.flatnonzero(counts == 0)[0])}')
    spacing = np.diff(seq.timestamps_us)
    if spacing.size and spacing.max() > GAP_FACTOR * LABEL_PERIOD_US:
        i = int(spacing.argmax())
        report.warnings.append(f'{(spacing > GAP_FACTOR * LABEL_PERIOD_US).sum()} gap(s) '
                               f'between labels, largest {spacing[i] / 1000:.0f} ms after '
                               f'label {i}')


def list_files(data_root: str, splits: Sequence[str] | None,
               problems: list[str]) -> dict[str, list[str]]:
    """``{sequence name: [splits listing it]}``; every ``*.h5`` of the folder when no split
    list exists. Unreadable split lists are added to ``problems``."""
    split_files = (list(splits) if splits else
                   sorted(osp.basename(p) for p in glob.glob(osp.join(data_root, '*.txt'))))
    files: dict[str, list[str]] = {}
    for split in split_files:
        try:
            names = read_split(data_root, osp.join(data_root, split))
        except (OSError, ValueError) as err:
            problems.append(str(err))
            continue
        for name in names:
            files.setdefault(name, []).append(split)
    if not split_files:
        for path in sorted(glob.glob(osp.join(data_root, '*.h5'))):
            files[osp.splitext(osp.basename(path))[0]] = ['-']
    return files


def format_table(reports: list[FileReport]) -> str:
    """The reports as an aligned text table, one line per file."""
    header = ('file', 'splits', 'status', 'unit', 'labels', 'pose', 'events/window min/med/max',
              'problem')
    rows = [header]
    for r in reports:
        events = '/'.join(map(str, r.events_per_window)) if r.events_per_window else '-'
        status = 'UNUSABLE' if r.unusable else ('warning' if r.warnings else 'ok')
        rows.append((r.name, ','.join(r.splits), status, r.unit or '-',
                     str(r.labels) if not r.unusable else '-',
                     ('yes' if r.pose else 'no') if not r.unusable else '-', events,
                     r.unusable or '; '.join(r.warnings)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return '\n'.join('  '.join(cell.ljust(w) for cell, w in zip(row, widths)) + '  ' + row[-1]
                     for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='folder of the .h5 files, camera.json and splits')
    parser.add_argument('--splits', nargs='+', metavar='LIST.txt',
                        help='split lists to check (default: every *.txt in DATA_ROOT)')
    parser.add_argument('--time-unit', default='auto', choices=('auto', '100us', 'us'))
    parser.add_argument('--window-ms', type=float, default=100.0)
    parser.add_argument('--camera-file', default='camera.json')
    args = parser.parse_args(argv)

    problems: list[str] = []
    sensor_size = (SPADES_CAMERA['Nu'], SPADES_CAMERA['Nv'])  # if camera.json is unusable
    try:
        sensor_size, _ = load_camera(osp.join(args.data_root, args.camera_file))
    except ValueError as err:
        problems.append(str(err))
    reports = []
    for name, splits in list_files(args.data_root, args.splits, problems).items():
        report = FileReport(name, splits)
        path = osp.join(args.data_root, f'{name}.h5')
        if osp.isfile(path):
            check_file(path, report, sensor_size, args.time_unit, args.window_ms)
        else:
            report.unusable = f'file {path} not found'
        reports.append(report)

    print(format_table(reports))
    unusable = [r for r in reports if r.unusable]
    for problem in problems:
        print(f'UNUSABLE: {problem}')
    print(f'{len(reports)} file(s) checked in {args.data_root}: {len(unusable)} unusable, '
          f'{sum(bool(r.warnings) for r in reports if not r.unusable)} with warnings, '
          f'{len(problems)} other problem(s)')
    return 1 if unusable or problems else 0


if __name__ == '__main__':
    sys.exit(main())
