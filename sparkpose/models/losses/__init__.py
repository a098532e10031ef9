from .base_loss import BasePoseLoss
from .keypoint_loss import BaseKeypointLoss, HeatmapCrossEntropyLoss, SoftArgmaxL1Loss
from .rotation_loss import (
    GeodesicRotationLoss,
    QuaternionRotationLoss,
    SymmetricGeodesicLoss,
    load_symmetries,
)
from .translation_loss import SmoothL1TranslationLoss
from .uncertainty_weighted_loss import UncertaintyWeightedLoss

__all__ = [
    'BaseKeypointLoss', 'BasePoseLoss', 'GeodesicRotationLoss', 'HeatmapCrossEntropyLoss',
    'QuaternionRotationLoss', 'SmoothL1TranslationLoss', 'SoftArgmaxL1Loss',
    'SymmetricGeodesicLoss', 'UncertaintyWeightedLoss', 'load_symmetries',
]
