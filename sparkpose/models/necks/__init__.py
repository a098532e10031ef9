from .feature_fusion import FeatureFusion
from .global_average_pooling import GlobalAveragePooling
from .spatial_pooling import SpatialPooling

__all__ = ['FeatureFusion', 'GlobalAveragePooling', 'SpatialPooling']
