"""Validate SPADES files as the reader does and report every problem, one line per file.

Shared by ``tools/analysis_tools/check_dataset.py`` (a whole data folder) and
``tools/infer.py`` (test files, checked before any model work).
"""
from dataclasses import dataclass, field

import numpy as np

from .spades_reader import SPADESSequence
from .time_units import LABEL_PERIOD_US

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
