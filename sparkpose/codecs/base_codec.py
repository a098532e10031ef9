"""The contract every codec follows: ``encode`` makes a head's target, ``decode`` inverts it."""
from abc import ABCMeta, abstractmethod

import torch


class BaseCodec(metaclass=ABCMeta):
    """Turns ground truth into what a head regresses (``encode``) and raw outputs back
    (``decode``), as mmpose's codecs do; the head calls both, nothing else does.

    Both take the batch's geometry as keyword arguments, always the same two: ``cam_K``
    ``(B, 3, 3)`` input intrinsics and ``input_size`` ``(B, 2)`` input ``(W, H)`` pixels,
    ``None`` when the data samples carry none. A codec that ignores them still accepts
    them, so a head passes whatever the samples hold without asking what the codec needs;
    one that needs them calls :meth:`require_geometry`, which names what to do instead.
    A codec may add keyword arguments of its own (e.g. a heatmap's size).
    """

    @abstractmethod
    def encode(self, values: torch.Tensor, *, cam_K: torch.Tensor | None = None,
               input_size: torch.Tensor | None = None):
        """Ground truth (e.g. ``(B, 3)`` metres) → training target."""

    @abstractmethod
    def decode(self, encoded: torch.Tensor, *, cam_K: torch.Tensor | None = None,
               input_size: torch.Tensor | None = None):
        """Raw head outputs → values in the ground truth's units."""

    def require_geometry(self, method: str, **geometry: torch.Tensor | None) -> None:
        """Raise when a geometry argument this codec needs is ``None``."""
        missing = [name for name, value in geometry.items() if value is None]
        if missing:
            raise ValueError(
                f"{type(self).__name__}.{method} needs each sample's {' and '.join(missing)}, "
                f"got none: call the estimator with mode='predict' and data samples carrying "
                f'them (PackPoseInputs adds them), or pass them to head.decode(outputs, '
                f'cam_K=..., input_size=...)')
