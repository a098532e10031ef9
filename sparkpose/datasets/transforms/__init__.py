from .base import RandomTransform, sample_rng
from .event_augmentations import RandomEventDensity, RandomPolaritySwap
from .flip import RandomHorizontalFlip
from .formatting import PackPoseInputs
from .representations import EventsToFrame, EventsToVoxelGrid
from .target_crop import CropToTarget, crop_events
from .target_detector import locate_target
from .voxel_kernels import voxel_grid_fused, voxel_grid_reference

__all__ = [
    'CropToTarget', 'EventsToFrame', 'EventsToVoxelGrid', 'PackPoseInputs',
    'RandomEventDensity', 'RandomHorizontalFlip', 'RandomPolaritySwap', 'RandomTransform',
    'crop_events', 'locate_target', 'sample_rng', 'voxel_grid_fused',
    'voxel_grid_reference',
]
