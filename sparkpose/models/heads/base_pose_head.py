"""Base class of the direct-regression heads: shared MLP, translation branch, loss, decoding."""
from abc import abstractmethod
from collections.abc import Sequence

import torch
from torch import nn

from sparkpose.registry import CODECS, MODELS
from sparkpose.structures import PoseDataSample, batch_geometry

from .base_head import BaseHead


class BasePoseHead(BaseHead):
    """Regresses translation and a rotation from a pooled feature; owns loss and decoding.

    ``shared MLP (Linear → ReLU → Dropout, twice) → {translation (3), rotation}``. The
    translation branch regresses ``codec.encode(gt_t)`` (normalised units) when a codec is
    given, and metres when ``codec=None``; ``predict`` decodes with the same codec, so
    ``pred_t`` is always in metres. The codec gets each batch's ``cam_K`` and
    ``input_size`` like every codec (:class:`~sparkpose.codecs.BaseCodec`); one that
    needs them (e.g. ``CropTranslationCodec`` for object-centric crops) cannot decode
    without them and says so. A subclass chooses the rotation parametrisation
    (``rotation_dim``, ``identity_rotation``) and implements ``rotation_loss`` and
    ``decode_rotation``. Outputs are cast to float32, so the pose arithmetic runs at full
    precision under autocast.

    Args:
        in_channels: Width of the pooled feature (the backbone's ``out_channels[-1]``).
        hidden_dim: Width of the shared MLP.
        dropout: Dropout probability after each hidden layer.
        codec: Config of the translation codec (``CODECS``), e.g.
            ``dict(type='TranslationNormalizer')``; ``None``: regress metres.
        loss_translation: Config of the translation loss; default
            ``dict(type='SmoothL1TranslationLoss')``.
        loss_rotation: Config of the rotation loss; default: the subclass's
            ``default_loss_rotation``.
        init_cfg: mmengine initialisation config.
    """

    rotation_dim: int
    identity_rotation: tuple[float, ...]
    default_loss_rotation: dict

    def __init__(self, in_channels: int, hidden_dim: int = 256, dropout: float = 0.1,
                 codec: dict | None = None, loss_translation: dict | None = None,
                 loss_rotation: dict | None = None, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hidden_dim), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.fc_translation = nn.Linear(hidden_dim, 3)
        self.fc_rotation = nn.Linear(hidden_dim, self.rotation_dim)
        # Start near "identity rotation, translation 0" (the codec mean with a codec).
        nn.init.zeros_(self.fc_translation.bias)
        with torch.no_grad():
            self.fc_rotation.bias.copy_(torch.tensor(self.identity_rotation))
        self.codec = self.build_part(CODECS, codec, 'codec') if codec is not None else None
        self.loss_translation = self.build_part(
            MODELS, loss_translation or dict(type='SmoothL1TranslationLoss'), 'loss_translation')
        self.loss_rotation = self.build_part(
            MODELS, loss_rotation or dict(self.default_loss_rotation), 'loss_rotation')

    @abstractmethod
    def rotation_loss(self, rotation: torch.Tensor, gt_q: torch.Tensor,
                      reduction_override: str | None = None) -> torch.Tensor:
        """Rotation loss of ``(B, rotation_dim)`` outputs against ``(B, 4)`` quaternions."""

    @abstractmethod
    def decode_rotation(self, rotation: torch.Tensor) -> torch.Tensor:
        """``(B, rotation_dim)`` outputs → ``(B, 4)`` unit quaternions (x, y, z, w), w >= 0."""

    def decode_rotation_outputs(self, outputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B, 4)`` quaternions from all raw outputs (a head with extra branches overrides)."""
        return self.decode_rotation(outputs['rotation'])

    def outputs(self, hidden: torch.Tensor) -> dict[str, torch.Tensor]:
        """Branch outputs from the ``(B, hidden_dim)`` shared feature."""
        return dict(translation=self.fc_translation(hidden), rotation=self.fc_rotation(hidden))

    def forward(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw outputs: ``translation`` ``(B, 3)`` (encoded), ``rotation`` and extras.

        Args:
            feats: The neck's tuple of pooled ``(B, in_channels)`` features (the last one is
                used), or one such tensor.
        """
        feat = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if feat.ndim != 2 or feat.shape[1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__}: expected pooled features (B, {self.in_channels}), got '
                f'{tuple(feat.shape)}; give the estimator neck=dict(type=\'GlobalAveragePooling\')'
                f' and set in_channels to the backbone width')
        return {name: out.float() for name, out in self.outputs(self.mlp(feat)).items()}

    def loss_terms(self, outputs: dict[str, torch.Tensor], data_samples: Sequence[PoseDataSample],
                   reduction_override: str | None = None) -> dict[str, torch.Tensor]:
        """``loss_translation`` and ``loss_rotation`` of the outputs against the samples' gt."""
        missing = [i for i, sample in enumerate(data_samples) if not sample.has_gt]
        if missing:
            raise ValueError(f'{type(self).__name__}.loss: data samples {missing[:5]} have no '
                             f'gt_t/gt_q (a file without poses in a training set?)')
        device = outputs['translation'].device
        gt_t = torch.stack([s.gt_t for s in data_samples]).to(device, torch.float32)
        gt_q = torch.stack([s.gt_q for s in data_samples]).to(device, torch.float32)
        target_t = gt_t if self.codec is None else self.codec.encode(
            gt_t, **batch_geometry(data_samples, device, type(self).__name__))
        return dict(
            loss_translation=self.loss_translation(outputs['translation'], target_t,
                                                   reduction_override=reduction_override),
            loss_rotation=self.rotation_loss(outputs['rotation'], gt_q, reduction_override))

    def loss(self, feats: Sequence[torch.Tensor], data_samples: Sequence[PoseDataSample]
             ) -> dict[str, torch.Tensor]:
        """Losses of a batch (keys contain ``'loss'``, so mmengine sums them)."""
        return self.loss_terms(self(feats), data_samples)

    def decode(self, outputs: dict[str, torch.Tensor], cam_K: torch.Tensor | None = None,
               input_size: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw outputs → decoded pose tensors (differentiable, traceable by ``torch.export``).

        Args:
            outputs: The head's raw outputs.
            cam_K: ``(B, 3, 3)`` input intrinsics, passed to the codec (which may need them).
            input_size: ``(B, 2)`` input ``(W, H)`` in pixels, passed to the codec.

        Returns:
            ``(B, 3)`` translations (m) and ``(B, 4)`` unit quaternions (x, y, z, w), w >= 0.
        """
        translation = outputs['translation']
        pred_t = translation if self.codec is None else self.codec.decode(
            translation, cam_K=cam_K, input_size=input_size)
        return pred_t, self.decode_rotation_outputs(outputs)
