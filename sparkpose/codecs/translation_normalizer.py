"""Translation normalisation: the targets a head regresses, and their inverse."""
from collections.abc import Sequence

import torch

from sparkpose.registry import CODECS

from .base_codec import BaseCodec

# Per-axis mean and standard deviation of ``t`` (m) over 30 SPADES training sequences: the
# one place they are written; configs use them as the codec's defaults.
SPADES_TRANSLATION_MEAN = (-0.24, 0.03, 5.68)
SPADES_TRANSLATION_STD = (0.93, 0.50, 1.40)


@CODECS.register_module()
class TranslationNormalizer(BaseCodec):
    """Maps metres to roughly unit-scale targets, ``(t - mean) / std``, and back.

    Regressing Tz of 3–12 m from a zero-initialised head starts smooth-L1 in its L1 regime
    with large errors, which made the original training diverge; normalised targets do not.
    The same instance encodes targets for the loss and decodes predictions, so the two can
    never disagree. ``tools/analysis_tools/translation_stats.py`` computes the statistics.
    The camera arguments of ``encode`` / ``decode`` are accepted and ignored.

    Args:
        mean: Per-axis mean of ``t`` (m); default: ``SPADES_TRANSLATION_MEAN``.
        std: Per-axis standard deviation of ``t`` (m), all positive; default:
            ``SPADES_TRANSLATION_STD``.
    """

    def __init__(self, mean: Sequence[float] = SPADES_TRANSLATION_MEAN,
                 std: Sequence[float] = SPADES_TRANSLATION_STD) -> None:
        self.mean = torch.as_tensor(mean, dtype=torch.float64)
        self.std = torch.as_tensor(std, dtype=torch.float64)
        if self.mean.shape != (3,) or self.std.shape != (3,):
            raise ValueError(f'TranslationNormalizer: mean and std need 3 values, got '
                             f'{list(mean)} and {list(std)}')
        if not bool((self.std > 0).all()):
            raise ValueError(f'TranslationNormalizer: std must be positive, got {list(std)}')

    def encode(self, translation: torch.Tensor, *, cam_K: torch.Tensor | None = None,
               input_size: torch.Tensor | None = None) -> torch.Tensor:
        """Metres ``(..., 3)`` → normalised ``(..., 3)`` (same dtype and device)."""
        mean, std = self.mean.to(translation), self.std.to(translation)
        return (translation - mean) / std

    def decode(self, encoded: torch.Tensor, *, cam_K: torch.Tensor | None = None,
               input_size: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised ``(..., 3)`` → metres ``(..., 3)`` (same dtype and device)."""
        mean, std = self.mean.to(encoded), self.std.to(encoded)
        return encoded * std + mean
