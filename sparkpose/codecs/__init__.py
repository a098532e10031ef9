from .translation_normalizer import TranslationNormalizer

__all__ = ['TranslationNormalizer']
