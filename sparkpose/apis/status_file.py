"""The side file of a submission: each window's pose status and confidence.

The challenge's CSV has a fixed format, so what a pose rests on goes beside it, in
``<submission>.status.csv``: ``id,status,confidence`` with the submission's ids, the
status name (:data:`~sparkpose.structures.POSE_STATUSES`) and confidence of the raw
window (before any sequence filter, which replaces doubtful windows by their neighbours).
"""
import csv
from collections.abc import Iterable
from pathlib import Path

from sparkpose.structures import status_name

from .inference import SequencePoses


def status_path(submission: str | Path) -> Path:
    """``submission.csv`` → ``submission.status.csv``."""
    path = Path(submission)
    return path.with_name(f'{path.stem}.status.csv')


def write_status_file(path: str | Path, sequences: Iterable[SequencePoses],
                      row_id=lambda seq_id, index: f'{seq_id}_{index:03d}') -> Path:
    """Write ``id,status,confidence`` for every window of ``sequences``; returns the path.

    ``row_id(seq_id, label_index)`` must name rows as the submission does.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open('w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['id', 'status', 'confidence'])
        for poses in sequences:
            for index, code, confidence in zip(poses.label_index, poses.status,
                                               poses.confidence):
                writer.writerow([row_id(poses.seq_id, int(index)), status_name(code),
                                 f'{confidence:.4f}'])
    return path
