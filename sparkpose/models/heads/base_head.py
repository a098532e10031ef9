"""The contract every head follows: ``loss``, ``predict`` and ``decode`` on raw outputs."""
from abc import ABCMeta, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import torch
from mmengine.model import BaseModule
from mmengine.registry import Registry

from sparkpose.structures import PoseDataSample, batch_geometry


class BaseHead(BaseModule, metaclass=ABCMeta):
    """Base of all heads (direct regression, keypoints + PnP): mmpose's head contract.

    * ``forward(feats)`` → dict of raw output tensors: the network part, what
      ``mode='tensor'`` returns and ``torch.export`` can capture.
    * ``loss(feats, data_samples)`` → dict of losses (keys contain ``'loss'``).
    * ``decode(outputs, cam_K=None, input_size=None)`` → ``(B, 3)`` translations (m) and
      ``(B, 4)`` unit quaternions (x, y, z, w), ``w >= 0``, from raw outputs and the
      batch geometry alone: deployment runs the exported network, then this.
    * ``predict(feats, data_samples)`` decodes with the samples' geometry and fills
      ``pred_t``, ``pred_q`` and, for the names in ``extra_outputs``, ``pred_extras``.

    ``extra_outputs`` declares the per-sample outputs a head reports beside its pose
    (e.g. ``pose_status``, ``pose_confidence``, ``keypoints``); they reach metrics and
    tools through the one field ``pred_extras``. A head with extras overrides
    :meth:`decode_samples`; ``predict`` checks that it returns exactly the declared names.

    Class attributes:
        extra_outputs: Names of the per-sample outputs in ``pred_extras``.
        traceable_decode: Whether ``decode`` is torch operators only, so that the whole
            estimator (network and decode) exports as one program; ``False`` for a decode
            that runs outside torch (e.g. OpenCV's PnP), which is then a separate step.
    """

    extra_outputs: ClassVar[tuple[str, ...]] = ()
    traceable_decode: ClassVar[bool] = True

    def build_part(self, registry: Registry, cfg: dict, key: str):
        """Build a part (codec, loss, solver) from the config argument ``key``; an unknown
        type or argument names the head, the key and its value."""
        try:
            return registry.build(cfg)
        except (KeyError, TypeError) as error:
            raise type(error)(f'{type(self).__name__}: {key}={cfg!r}: {error}') from None

    @abstractmethod
    def forward(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw outputs of the head's layers."""

    @abstractmethod
    def loss(self, feats: Sequence[torch.Tensor], data_samples: Sequence[PoseDataSample]
             ) -> dict[str, torch.Tensor]:
        """Losses of a batch against the samples' ground truth."""

    @abstractmethod
    def decode(self, outputs: dict[str, torch.Tensor], cam_K: torch.Tensor | None = None,
               input_size: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw outputs → ``(B, 3)`` translations (m), ``(B, 4)`` quaternions (x, y, z, w).

        Args:
            outputs: The head's raw outputs.
            cam_K: ``(B, 3, 3)`` input intrinsics, for heads and codecs that work in input
                pixels.
            input_size: ``(B, 2)`` input ``(W, H)`` in pixels.
        """

    def decode_samples(self, outputs: dict[str, torch.Tensor],
                       data_samples: Sequence[PoseDataSample]
                       ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """``decode`` with the samples' geometry, plus the ``(B, ...)`` extra outputs."""
        device = next(iter(outputs.values())).device
        pred_t, pred_q = self.decode(
            outputs, **batch_geometry(data_samples, device, type(self).__name__))
        return pred_t, pred_q, {}

    def predict(self, feats: Sequence[torch.Tensor], data_samples: Sequence[PoseDataSample]
                ) -> Sequence[PoseDataSample]:
        """Add ``pred_t`` ``(3,)`` (m), ``pred_q`` ``(4,)`` (x, y, z, w) and, when the head
        declares ``extra_outputs``, ``pred_extras`` to each sample.

        Returns:
            The same data samples, predictions added.
        """
        outputs = {name: value.detach() for name, value in self(feats).items()}
        pred_t, pred_q, extras = self.decode_samples(outputs, data_samples)
        if set(extras) != set(self.extra_outputs):
            raise RuntimeError(f'{type(self).__name__}: decode_samples returned extra outputs '
                               f'{sorted(extras)}, the head declares '
                               f'extra_outputs={sorted(self.extra_outputs)}')
        for index, sample in enumerate(data_samples):
            sample.pred_t = pred_t[index]
            sample.pred_q = pred_q[index]
            if extras:
                sample.pred_extras = {name: extras[name][index] for name in self.extra_outputs}
        return data_samples
