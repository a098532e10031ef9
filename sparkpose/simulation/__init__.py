from .event_simulator import EventSimulator, lin_log
from .renderer import render, render_region
from .sequence import (
    LABEL_RATE,
    TICKS_PER_SECOND,
    SequenceOptions,
    camera_for_resolution,
    frame_times,
    generate_sequence,
    sequence_name,
    simulate_events,
    write_sequence,
)
from .spades_writer import (
    SpadesFileWriter,
    make_labels,
    write_camera_json,
    write_spades_file,
    write_split_files,
)
from .trajectory import Trajectory, fitting_distance, random_trajectory

__all__ = [
    'EventSimulator', 'LABEL_RATE', 'SequenceOptions', 'SpadesFileWriter',
    'TICKS_PER_SECOND', 'Trajectory', 'camera_for_resolution', 'fitting_distance',
    'frame_times', 'generate_sequence', 'lin_log', 'make_labels',
    'random_trajectory', 'render', 'render_region', 'sequence_name',
    'simulate_events', 'write_camera_json', 'write_sequence', 'write_spades_file',
    'write_split_files',
]
