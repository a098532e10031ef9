"""Datasets: the SPADES reader and dataset, batching; ``transforms`` registers the pipeline."""
from . import transforms
from .collate import pose_collate
from .format_error import SPADESFormatError
from .h5_file_pool import H5FilePool
from .samplers import SeededIndex, SeededSampler, sample_generator
from .spades_dataset import SPADESDataset, load_camera, read_split
from .spades_format import SPADES_CAMERA
from .spades_reader import SPADESSequence, read_labels, scan_events
from .time_units import resolve_time_unit

__all__ = ['H5FilePool', 'SPADES_CAMERA', 'SPADESDataset', 'SPADESFormatError', 'SPADESSequence',
           'load_camera', 'pose_collate', 'read_labels', 'read_split', 'resolve_time_unit',
           'scan_events', 'SeededIndex', 'SeededSampler', 'sample_generator']
