"""The pose estimator: backbone → neck → head, dispatched by mmengine's ``mode``."""
from collections.abc import Sequence

import torch
from mmengine.model import BaseModel

from sparkpose.registry import MODELS
from sparkpose.structures import PoseDataSample

from .flip_test import merge_flip_tta, mirror_data_samples


@MODELS.register_module()
class PoseEstimator(BaseModel):
    """Event-camera 6-DoF pose estimator; thin: the head owns losses and decoding.

    Args:
        backbone: Backbone config (``VoxelCNN``, ``EventResNet``, ``TimmBackbone``, ...).
        head: Head config (``Rot6DPoseHead``, ...).
        neck: Neck config, typically ``dict(type='GlobalAveragePooling')``; ``None`` feeds
            the backbone output to the head directly.
        data_preprocessor: Config; default ``dict(type='PoseDataPreprocessor')``.
        channels_last: Keep weights and inputs in NHWC memory layout. Convolutions run
            faster on CPU this way (docs/performance.md); results are the same up to
            rounding.
        test_cfg: Test-time options: ``flip_test`` (bool) also predicts on the mirrored
            input and merges the poses (:mod:`.flip_test`); ``body_reflection`` (3×3) is the
            mirror ``M`` of that merge, ``None`` for ``diag(-1, 1, 1)``.
        init_cfg: mmengine initialisation config.

    Attributes:
        backbone: The backbone; hooks call ``backbone.freeze()`` / ``unfreeze()``.
    """

    def __init__(self, backbone: dict, head: dict, neck: dict | None = None,
                 data_preprocessor: dict | None = None, channels_last: bool = False,
                 test_cfg: dict | None = None, init_cfg: dict | list | None = None) -> None:
        # Built here from our registry: mmengine's root registry would not find our types
        # when no default scope is set (scripts, tests).
        preprocessor = MODELS.build(data_preprocessor or dict(type='PoseDataPreprocessor'))
        super().__init__(data_preprocessor=preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)
        self.test_cfg = dict(test_cfg or {})
        unknown = sorted(set(self.test_cfg) - {'flip_test', 'body_reflection'})
        if unknown:
            raise ValueError(f'PoseEstimator: unknown test_cfg key(s) {unknown}; expected '
                             f'flip_test, body_reflection')
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def extract_feat(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(B, C, H, W)`` voxel grids → the neck's (or backbone's) feature tuple."""
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        feats = self.backbone(inputs)
        return self.neck(feats) if self.neck is not None else feats

    def forward(self, inputs: torch.Tensor,
                data_samples: Sequence[PoseDataSample] | None = None,
                mode: str = 'tensor') -> dict | list:
        """Dispatch on ``mode``.

        Args:
            inputs: ``(B, C, H, W)`` float batch from the data preprocessor.
            data_samples: One ``PoseDataSample`` per input (gt needed for ``'loss'``).
            mode: ``'loss'`` → dict of losses; ``'predict'`` → the data samples with
                ``pred_t`` (m) and ``pred_q`` (x, y, z, w) added; ``'tensor'`` → the head's
                raw outputs (dict of tensors).
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        raise ValueError(f"PoseEstimator: mode must be 'loss', 'predict' or 'tensor', "
                         f'got {mode!r}')

    def loss(self, inputs: torch.Tensor,
             data_samples: Sequence[PoseDataSample]) -> dict[str, torch.Tensor]:
        """Losses of a batch, from the head."""
        if data_samples is None:
            raise ValueError("PoseEstimator: mode='loss' needs data_samples with gt_t/gt_q")
        return self.head.loss(self.extract_feat(inputs), data_samples)

    def predict_pose(self, inputs: torch.Tensor, cam_K: torch.Tensor | None = None,
                     input_size: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoded poses of a bare batch, no data samples: what a deployed model computes.

        The network (``mode='tensor'``) then the head's ``decode``; a head whose decode is
        not torch operators only (``head.traceable_decode = False``, e.g. PnP) is exported
        as the network alone and decoded by this second step.

        Args:
            inputs: ``(B, C, H, W)`` float voxel grids.
            cam_K: ``(B, 3, 3)`` input intrinsics, for heads and codecs that need them.
            input_size: ``(B, 2)`` input ``(W, H)`` in pixels, with ``cam_K``.

        Returns:
            ``(B, 3)`` translations (m) and ``(B, 4)`` unit quaternions (x, y, z, w), w >= 0.
        """
        return self.head.decode(self.head(self.extract_feat(inputs)), cam_K, input_size)

    def predict(self, inputs: torch.Tensor,
                data_samples: Sequence[PoseDataSample] | None = None) -> list[PoseDataSample]:
        """Predict poses; samples keep their metainfo (seq_id, label_index, timestamp).

        With ``test_cfg.flip_test`` the left-right mirrored input is predicted too (with
        mirrored intrinsics) and each pose is the merge of the two.
        """
        if data_samples is None:
            data_samples = [PoseDataSample() for _ in range(inputs.shape[0])]
        mirrored = mirror_data_samples(data_samples) if self.test_cfg.get('flip_test') else None
        samples = list(self.head.predict(self.extract_feat(inputs), data_samples))
        if mirrored is None:
            return samples
        mirrored = self.head.predict(self.extract_feat(inputs.flip(-1)), mirrored)
        for sample, mirror in zip(samples, mirrored):
            sample.pred_t, sample.pred_q = merge_flip_tta(
                sample.pred_t, sample.pred_q, mirror.pred_t, mirror.pred_q,
                self.test_cfg.get('body_reflection'))
        return samples
