from .base import RandomTransform
from .event_augmentations import RandomEventDensity, RandomPolaritySwap
from .flip import RandomHorizontalFlip
from .formatting import PackPoseInputs
from .representations import EventsToFrame, EventsToVoxelGrid
from .voxel_kernels import voxel_grid_fused, voxel_grid_reference
from .voxel_noise import RandomVoxelNoise

__all__ = [
    'EventsToFrame', 'EventsToVoxelGrid', 'PackPoseInputs', 'RandomEventDensity',
    'RandomHorizontalFlip', 'RandomPolaritySwap', 'RandomTransform', 'RandomVoxelNoise',
    'voxel_grid_fused', 'voxel_grid_reference',
]
