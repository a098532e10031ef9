from .base_loss import BasePoseLoss
from .rotation_loss import GeodesicRotationLoss, QuaternionRotationLoss
from .translation_loss import SmoothL1TranslationLoss
from .uncertainty_weighted_loss import UncertaintyWeightedLoss

__all__ = [
    'BasePoseLoss', 'GeodesicRotationLoss', 'QuaternionRotationLoss', 'SmoothL1TranslationLoss',
    'UncertaintyWeightedLoss',
]
