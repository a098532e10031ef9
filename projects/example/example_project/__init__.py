"""An example sparkpose project: a backbone and an augmentation living outside the package.

Importing this package registers ``DepthwiseCNN`` (in ``sparkpose.registry.MODELS``) and
``RandomTimeJitter`` (in ``TRANSFORMS``); a config pulls it in with ``custom_imports``.
"""
from .depthwise_cnn import DepthwiseCNN
from .random_time_jitter import RandomTimeJitter

__all__ = ['DepthwiseCNN', 'RandomTimeJitter']
