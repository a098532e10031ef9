"""Datasets: the SPADES file contract, reader and dataset, batching; ``transforms`` the pipeline.

Names are imported on first use (:mod:`sparkpose.lazy_exports`), so the file contract
(``spades_format``) loads without torch; the registries import the modules that register.
"""
from sparkpose.lazy_exports import lazy_exports

_MODULE_NAMES = {
    'collate': ('pose_collate',),
    'format_error': ('SPADESFormatError',),
    'h5_file_pool': ('H5FilePool',),
    'samplers': ('SeededIndex', 'SeededSampler', 'sample_generator'),
    'spades_dataset': ('SPADESDataset', 'load_camera'),
    'spades_format': ('SPADES_CAMERA', 'read_split'),
    'spades_reader': ('SPADESSequence', 'read_labels', 'scan_events'),
    'time_units': ('resolve_time_unit',),
    'transforms': ('transforms',),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _MODULE_NAMES)
