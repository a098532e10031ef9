from .base_codec import BaseCodec
from .crop_translation_codec import CropTranslationCodec
from .gaussian_heatmap import GaussianHeatmap
from .translation_normalizer import (
    SPADES_TRANSLATION_MEAN,
    SPADES_TRANSLATION_STD,
    TranslationNormalizer,
)

__all__ = ['SPADES_TRANSLATION_MEAN', 'SPADES_TRANSLATION_STD', 'BaseCodec',
           'CropTranslationCodec', 'GaussianHeatmap', 'TranslationNormalizer']
