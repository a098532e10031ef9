from .crop_translation_codec import CropTranslationCodec
from .translation_normalizer import TranslationNormalizer

__all__ = ['CropTranslationCodec', 'TranslationNormalizer']
