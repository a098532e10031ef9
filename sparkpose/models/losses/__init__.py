from .base_loss import BasePoseLoss
from .rotation_loss import (
    GeodesicRotationLoss,
    QuaternionRotationLoss,
    SymmetricGeodesicLoss,
    load_symmetries,
)
from .translation_loss import SmoothL1TranslationLoss
from .uncertainty_weighted_loss import UncertaintyWeightedLoss

__all__ = [
    'BasePoseLoss', 'GeodesicRotationLoss', 'QuaternionRotationLoss', 'SmoothL1TranslationLoss',
    'SymmetricGeodesicLoss', 'UncertaintyWeightedLoss', 'load_symmetries',
]
