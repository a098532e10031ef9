from .crop_translation_codec import CropTranslationCodec
from .translation_normalizer import (
    SPADES_TRANSLATION_MEAN,
    SPADES_TRANSLATION_STD,
    TranslationNormalizer,
)

__all__ = ['SPADES_TRANSLATION_MEAN', 'SPADES_TRANSLATION_STD', 'CropTranslationCodec',
           'TranslationNormalizer']
