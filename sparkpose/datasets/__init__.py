"""Datasets: the SPADES reader and dataset; ``transforms`` registers the pipeline steps."""
from . import transforms
from .spades_dataset import SPADESDataset, load_camera, read_split
from .spades_reader import (
    H5FilePool,
    SPADESFormatError,
    SPADESSequence,
    read_labels,
    resolve_time_unit,
    scan_events,
)

__all__ = ['H5FilePool', 'SPADESDataset', 'SPADESFormatError', 'SPADESSequence', 'load_camera',
           'read_labels', 'read_split', 'resolve_time_unit', 'scan_events']
