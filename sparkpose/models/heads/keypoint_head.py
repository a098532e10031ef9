"""Keypoint-heatmap head: body keypoints found in the image, pose solved by PnP."""
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from sparkpose.registry import CODECS, MODELS
from sparkpose.structures import (
    POSE_STATUSES,
    PoseDataSample,
    load_body_model,
    matrix_to_quaternion,
    project_keypoints,
    stack_cameras,
)

from .base_head import BaseHead


@MODELS.register_module()
class KeypointHeatmapHead(BaseHead):
    """One heatmap per body keypoint on a fine feature map; PnP turns them into a pose.

    The family that wins spacecraft-pose benchmarks: the network only has to say where
    known body points appear (a translation-equivariant, local question), and geometry
    does the rest. Targets are the body model's keypoints projected with each sample's
    ``cam_K`` (cropped and scaled to the input), so the same head works on full frames and
    object-centric crops. The head is mmpose's split:

    * ``codec`` (``CODECS``, default ``GaussianHeatmap``) turns keypoints into target maps
      and maps into keypoints with scores;
    * ``loss_heatmap`` / ``loss_keypoint`` (``MODELS``) compare maps with the targets
      (keypoints outside the input are masked out);
    * ``solver`` (``MODELS``, default ``RansacPnPSolver``) turns keypoints, scores and the
      intrinsics into a pose with its status and confidence, never failing to give a
      finite pose (see :class:`~sparkpose.models.heads.pnp.RansacPnPSolver`).

    ``predict`` adds the pose and, in ``pred_extras``, ``pnp_ok``, ``pose_status`` (a code
    of :data:`~sparkpose.structures.POSE_STATUSES`), ``pose_confidence`` in ``[0, 1]``,
    ``keypoints`` ``(K, 2)`` input pixels and ``keypoint_scores`` ``(K,)``; the metric
    compares the keypoints with the ground truth's. ``decode`` gives the same poses from
    the raw heatmaps and each sample's ``cam_K`` / ``input_size`` (without the window's
    event count or crop status, which only change the status of a window without events
    or target): export the network, then decode.

    Args:
        in_channels: Width of the fused feature map (e.g. ``FeatureFusion.out_channels``).
        body_model: Path of the ``body.json`` whose keypoints are learned.
        hidden_channels: Width of the 3×3 conv before the heatmap layer.
        codec: Config of the heatmap codec (``CODECS``).
        solver: Config of the PnP solver (``MODELS``).
        loss_heatmap: Config of the heatmap loss (``MODELS``).
        loss_keypoint: Config of the keypoint-position loss (``MODELS``).
        init_cfg: mmengine initialisation config.
    """

    extra_outputs = ('pnp_ok', 'pose_status', 'pose_confidence', 'keypoints',
                     'keypoint_scores')
    traceable_decode = False

    def __init__(self, in_channels: int, body_model: str, hidden_channels: int = 64,
                 codec: dict | None = None, solver: dict | None = None,
                 loss_heatmap: dict | None = None, loss_keypoint: dict | None = None,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        body = load_body_model(body_model)
        if len(body.keypoints) < 4:
            raise ValueError(f'KeypointHeatmapHead: body_model={body_model!r} has '
                             f'{len(body.keypoints)} keypoints; PnP needs at least 4 (11 or '
                             f'more recommended)')
        self.in_channels = in_channels
        self.body_model = str(body_model)
        self.keypoint_names = body.keypoint_names
        self.body_radius = body.bounding_radius
        self.register_buffer('keypoints_3d', torch.tensor(body.keypoints, dtype=torch.float32),
                             persistent=False)
        self.codec = self.build_part(CODECS, codec or dict(type='GaussianHeatmap'), 'codec')
        self.solver = self.build_part(MODELS, solver or dict(type='RansacPnPSolver'), 'solver')
        self.loss_heatmap = self.build_part(
            MODELS, loss_heatmap or dict(type='HeatmapCrossEntropyLoss', loss_weight=1.0),
            'loss_heatmap')
        self.loss_keypoint = self.build_part(
            MODELS, loss_keypoint or dict(type='SoftArgmaxL1Loss', loss_weight=0.1),
            'loss_keypoint')
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, hidden_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(hidden_channels), nn.ReLU(inplace=True),
            nn.Conv2d(hidden_channels, len(body.keypoints), 1))

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)

    def forward(self, feats: Sequence[torch.Tensor] | torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw outputs: ``heatmaps`` ``(B, K, h, w)`` logits (float32)."""
        feat = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if feat.ndim != 4 or feat.shape[1] != self.in_channels:
            raise ValueError(f'KeypointHeatmapHead: expected a feature map (B, '
                             f'{self.in_channels}, h, w), got {tuple(feat.shape)}; use a '
                             f"dense neck such as dict(type='FeatureFusion') and set "
                             f'in_channels to its out_channels')
        return dict(heatmaps=self.conv(feat).float())

    def gt_keypoints(self, data_samples: Sequence[PoseDataSample], device: torch.device
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Ground-truth keypoints in input pixels, their visibility and the input sizes.

        Returns:
            ``(B, K, 2)`` pixels, ``(B, K)`` bool (inside the input), ``(B, 2)`` ``(W, H)``.
        """
        gt_t = torch.stack([s.gt_t for s in data_samples]).to(device, torch.float32)
        gt_q = torch.stack([s.gt_q for s in data_samples]).to(device, torch.float32)
        cam_K, size = stack_cameras(data_samples, device, type(self).__name__)
        return (*project_keypoints(self.keypoints_3d, gt_q, gt_t, cam_K, size), size)

    def loss(self, feats: Sequence[torch.Tensor], data_samples: Sequence[PoseDataSample]
             ) -> dict[str, torch.Tensor]:
        """``loss_heatmap`` and ``loss_keypoint`` of a batch."""
        missing = [i for i, sample in enumerate(data_samples) if not sample.has_gt]
        if missing:
            raise ValueError(f'KeypointHeatmapHead.loss: data samples {missing[:5]} have no '
                             f'gt_t/gt_q (a file without poses in a training set?)')
        heatmaps = self(feats)['heatmaps']
        uv, visible, size = self.gt_keypoints(data_samples, heatmaps.device)
        target = self.codec.encode(uv, input_size=size, heatmap_size=heatmaps.shape[-2:],
                                   visible=visible)
        weights = target['keypoint_weights']
        return dict(loss_heatmap=self.loss_heatmap(heatmaps, target['heatmaps'], weights),
                    loss_keypoint=self.loss_keypoint(heatmaps, target['keypoint_cells'],
                                                     weights))

    def decode(self, outputs: dict[str, torch.Tensor], cam_K: torch.Tensor | None = None,
               input_size: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Heatmaps and each sample's geometry → ``(B, 3)`` metres, ``(B, 4)`` (x, y, z, w).

        Args:
            outputs: ``dict(heatmaps=(B, K, h, w))``, e.g. from the exported network.
            cam_K: ``(B, 3, 3)`` input intrinsics (required).
            input_size: ``(B, 2)`` input ``(W, H)`` in pixels (required).
        """
        pred_t, pred_q, _ = self.solve(outputs['heatmaps'], cam_K, input_size)
        return pred_t, pred_q

    def decode_samples(self, outputs: dict[str, torch.Tensor],
                       data_samples: Sequence[PoseDataSample]
                       ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """The pose and the extra outputs, with the windows' event counts and crop status."""
        cam_K, size = stack_cameras(data_samples, outputs['heatmaps'].device,
                                    type(self).__name__)
        return self.solve(outputs['heatmaps'], cam_K, size,
                          [s.get('num_events') for s in data_samples],
                          [bool(s.get('crop_fallback', False)) for s in data_samples])

    def solve(self, heatmaps: torch.Tensor, cam_K: torch.Tensor | None,
              input_size: torch.Tensor | None, num_events: Sequence[int | None] | None = None,
              crop_fallback: Sequence[bool] | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Keypoints from the codec, then the solver on each window (float64, CPU).

        Returns:
            ``(B, 3)`` translations, ``(B, 4)`` quaternions (float32, CPU) and the extra
            outputs, each ``(B, ...)``.
        """
        if cam_K is None or input_size is None:
            raise ValueError("KeypointHeatmapHead.decode solves PnP with each sample's cam_K "
                             'and input_size: pass head.decode(outputs, cam_K=(B, 3, 3), '
                             "input_size=(B, 2)) or call the estimator with mode='predict'")
        if heatmaps.ndim != 4 or heatmaps.shape[1] != self.num_keypoints:
            raise ValueError(f'KeypointHeatmapHead: heatmaps of shape {tuple(heatmaps.shape)} '
                             f'for body_model={self.body_model!r} with {self.num_keypoints} '
                             f'keypoints; expected (B, {self.num_keypoints}, h, w)')
        pixels, scores = self.codec.decode(heatmaps, cam_K=cam_K, input_size=input_size)
        batch = len(heatmaps)
        num_events = num_events or [None] * batch
        crop_fallback = crop_fallback or [False] * batch
        camera = cam_K.double().cpu().numpy()
        sizes = input_size.double().cpu().numpy()
        points_3d = self.keypoints_3d.double().cpu().numpy()
        results = [self.solver(points_3d, pixels[i].double().cpu().numpy(),
                               scores[i].double().cpu().numpy(), camera[i], tuple(sizes[i]),
                               self.body_radius, num_events[i], crop_fallback[i])
                   for i in range(batch)]
        pred_t = torch.as_tensor(np.stack([r.translation for r in results]), dtype=torch.float32)
        pred_q = matrix_to_quaternion(
            torch.as_tensor(np.stack([r.rotation for r in results]))).float()
        status = torch.tensor([r.status for r in results])
        extras = dict(pnp_ok=status == POSE_STATUSES.index('pnp_ok'), pose_status=status,
                      pose_confidence=torch.tensor([r.confidence for r in results],
                                                   dtype=torch.float32),
                      keypoints=pixels.float().cpu(), keypoint_scores=scores.float().cpu())
        return pred_t, pred_q, extras
