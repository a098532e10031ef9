"""Keypoint-heatmap head: body keypoints found in the image, pose solved by PnP."""
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from sparkpose.registry import MODELS
from sparkpose.structures import (
    POSE_STATUSES,
    PoseDataSample,
    load_body_model,
    matrix_to_quaternion,
    quaternion_to_matrix,
    stack_cameras,
)

from .pnp import fallback_pose, plausible_size, solve_pnp


@MODELS.register_module()
class KeypointHeatmapHead(BaseModule):
    """One heatmap per body keypoint on a fine feature map; PnP turns them into a pose.

    The family that wins spacecraft-pose benchmarks: the network only has to say where
    known body points appear (a translation-equivariant, local question), and geometry
    does the rest. Targets are the body model's keypoints projected with each sample's
    ``cam_K`` (cropped and scaled to the input), so the same head works on full frames and
    object-centric crops.

    Training: per keypoint a cross-entropy between the softmax over the map and a
    Gaussian around the true position (``loss_heatmap``), plus an L1 on the soft-argmax
    position in map cells (``loss_keypoint``). Keypoints outside the input are masked out.

    Decoding: the peak of each map, refined to sub-cell precision (a bimodal map, e.g.
    two symmetric corners, gives one of its modes, not their middle); confidence =
    probability mass around the peak. EPnP in RANSAC with
    Levenberg–Marquardt refinement on the confident ones gives ``pred_t``, ``pred_q``.
    When that fails, PnP on every keypoint (the best estimate the network has, status
    ``pnp_all_keypoints``; kept if the body's apparent size is plausible for a crop)
    unless ``all_keypoints_pnp=False``; only then, or for a window without events, the
    defined fallback pose of
    :func:`~sparkpose.models.heads.pnp.fallback_pose` (``pnp_ok = False``). Each sample
    carries ``pose_status`` (a code of :data:`~sparkpose.structures.POSE_STATUSES`) and
    ``pose_confidence`` in ``[0, 1]`` (0 for a placeholder), which the metric counts and
    the sequence filter weighs.

    Args:
        in_channels: Width of the fused feature map (e.g. ``FeatureFusion.out_channels``).
        body_model: Path of the ``body.json`` whose keypoints are learned.
        hidden_channels: Width of the 3×3 conv before the heatmap layer.
        sigma: Standard deviation of the target Gaussian, in map cells.
        loss_heatmap_weight: Weight of the heatmap cross-entropy.
        loss_keypoint_weight: Weight of the soft-argmax L1 (map cells).
        min_confidence: Confidence a keypoint needs to take part in PnP.
        min_keypoints: Fewest confident keypoints (and RANSAC inliers) for a PnP pose.
        reprojection_px: RANSAC inlier threshold in input pixels.
        all_keypoints_pnp: Retry PnP on all keypoints (4 or more inliers) before falling
            back to the placeholder pose.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self, in_channels: int, body_model: str, hidden_channels: int = 64,
                 sigma: float = 1.0, loss_heatmap_weight: float = 1.0,
                 loss_keypoint_weight: float = 0.1, min_confidence: float = 0.2,
                 min_keypoints: int = 6, reprojection_px: float = 3.0,
                 all_keypoints_pnp: bool = True,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        body = load_body_model(body_model)
        if len(body.keypoints) < 4:
            raise ValueError(f'KeypointHeatmapHead: {body_model} has {len(body.keypoints)} '
                             f'keypoints; PnP needs at least 4 (11 or more recommended)')
        self.in_channels = in_channels
        self.keypoint_names = body.keypoint_names
        self.body_radius = body.bounding_radius
        self.register_buffer('keypoints_3d', torch.tensor(body.keypoints, dtype=torch.float32),
                             persistent=False)
        self.sigma = sigma
        self.loss_heatmap_weight = loss_heatmap_weight
        self.loss_keypoint_weight = loss_keypoint_weight
        self.pnp_cfg = dict(min_confidence=min_confidence, min_points=min_keypoints,
                            reprojection_px=reprojection_px)
        self.all_keypoints_cfg = (dict(min_confidence=0.0, min_points=4,
                                       reprojection_px=2 * reprojection_px)
                                  if all_keypoints_pnp else None)
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

    def project_keypoints(self, data_samples: Sequence[PoseDataSample], device: torch.device
                          ) -> tuple[torch.Tensor, torch.Tensor]:
        """Ground-truth keypoints in input pixels and whether each lies in the input.

        Returns:
            ``(B, K, 2)`` pixels and ``(B, K)`` bool visibility.
        """
        gt_t = torch.stack([s.gt_t for s in data_samples]).to(device, torch.float32)
        gt_q = torch.stack([s.gt_q for s in data_samples]).to(device, torch.float32)
        cam_K, size = stack_cameras(data_samples, device, type(self).__name__)
        points = self.keypoints_3d @ quaternion_to_matrix(gt_q).transpose(1, 2) + gt_t[:, None]
        pixels = points @ cam_K.transpose(1, 2)
        depth = pixels[..., 2:].clamp(min=1e-6)
        uv = pixels[..., :2] / depth
        visible = (points[..., 2] > 0) & (uv >= 0).all(-1) & (uv < size[:, None]).all(-1)
        return uv, visible

    @staticmethod
    def _cell_grid(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = heatmaps.shape[-2:]
        ys = torch.arange(h, device=heatmaps.device, dtype=torch.float32)
        xs = torch.arange(w, device=heatmaps.device, dtype=torch.float32)
        return xs, ys

    def _stride(self, heatmaps: torch.Tensor, data_samples: Sequence[PoseDataSample]
                ) -> torch.Tensor:
        """``(B, 1, 2)`` input pixels per map cell along x and y."""
        size = torch.tensor([s.input_size for s in data_samples], dtype=torch.float32,
                            device=heatmaps.device)
        cells = torch.tensor([heatmaps.shape[-1], heatmaps.shape[-2]], dtype=torch.float32,
                             device=heatmaps.device)
        return (size / cells)[:, None]

    def loss(self, feats: Sequence[torch.Tensor], data_samples: Sequence[PoseDataSample]
             ) -> dict[str, torch.Tensor]:
        """``loss_heatmap`` and ``loss_keypoint`` of a batch."""
        missing = [i for i, sample in enumerate(data_samples) if not sample.has_gt]
        if missing:
            raise ValueError(f'KeypointHeatmapHead.loss: data samples {missing[:5]} have no '
                             f'gt_t/gt_q (a file without poses in a training set?)')
        heatmaps = self(feats)['heatmaps']
        uv, visible = self.project_keypoints(data_samples, heatmaps.device)
        # Pixel centre of cell j is (j + 0.5) · stride (pixel x covers [x, x + 1)).
        target = uv / self._stride(heatmaps, data_samples) - 0.5
        xs, ys = self._cell_grid(heatmaps)
        gauss_x = torch.exp(-0.5 * ((xs - target[..., 0:1]) / self.sigma) ** 2)
        gauss_y = torch.exp(-0.5 * ((ys - target[..., 1:2]) / self.sigma) ** 2)
        gauss = gauss_y[..., :, None] * gauss_x[..., None, :]
        gauss = gauss / gauss.sum(dim=(-2, -1), keepdim=True).clamp(min=1e-12)
        log_prob = F.log_softmax(heatmaps.flatten(2), dim=-1)
        mask = visible.float()
        count = mask.sum().clamp(min=1)
        cross_entropy = -(gauss.flatten(2) * log_prob).sum(-1)
        prob = log_prob.exp().view_as(heatmaps)
        expected = torch.stack([(prob.sum(-2) * xs).sum(-1), (prob.sum(-1) * ys).sum(-1)], -1)
        l1 = (expected - target).abs().sum(-1)
        return dict(loss_heatmap=self.loss_heatmap_weight * (cross_entropy * mask).sum() / count,
                    loss_keypoint=self.loss_keypoint_weight * (l1 * mask).sum() / count)

    def decode_keypoints(self, heatmaps: torch.Tensor, data_samples: Sequence[PoseDataSample]
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """Peak of each map refined to sub-cell precision.

        The refinement fits a parabola to the logits through the peak and its two
        neighbours along each axis: exact for the Gaussian the head is trained towards
        (its log is a parabola), and it stays at one mode of a bimodal map.

        Returns:
            ``(B, K, 2)`` input pixels and ``(B, K)`` confidences: the probability mass of
            the 3×3 cells around the peak, in ``[0, 1]``.
        """
        b, k, h, w = heatmaps.shape
        flat = heatmaps.flatten(2)
        peak = flat.argmax(-1)
        py, px = peak // w, peak % w
        cells = []
        for centre, step, length in ((px, 1, w), (py, w, h)):
            inside = (centre > 0) & (centre < length - 1)
            lo = torch.gather(flat, 2, (peak - step * inside)[..., None]).squeeze(-1)
            hi = torch.gather(flat, 2, (peak + step * inside)[..., None]).squeeze(-1)
            mid = torch.gather(flat, 2, peak[..., None]).squeeze(-1)
            curvature = 2 * mid - lo - hi
            offset = torch.where(inside & (curvature > 1e-6),
                                 0.5 * (hi - lo) / curvature.clamp(min=1e-6),
                                 torch.zeros_like(mid))
            cells.append(centre + offset.clamp(-0.5, 0.5))
        prob = F.softmax(flat, dim=-1).view(b, k, h, w)
        window = F.avg_pool2d(prob.flatten(0, 1)[:, None], 3, stride=1, padding=1,
                              count_include_pad=True).view(b, k, h * w) * 9
        mass = torch.gather(window, 2, peak[..., None]).squeeze(-1)
        stride = self._stride(heatmaps, data_samples)
        pixels = (torch.stack(cells, -1) + 0.5) * stride
        return pixels, mass.clamp(0.0, 1.0)

    def predict(self, feats: Sequence[torch.Tensor], data_samples: Sequence[PoseDataSample]
                ) -> Sequence[PoseDataSample]:
        """Add ``pred_t``, ``pred_q``, ``pred_keypoints`` ``(K, 2)``, ``keypoint_scores``,
        ``pnp_ok``, ``pose_status``, ``pose_confidence`` and, with ground truth,
        ``keypoint_err_px`` (median over the keypoints inside the input) to each sample."""
        heatmaps = self(feats)['heatmaps'].detach()
        pixels, scores = self.decode_keypoints(heatmaps, data_samples)
        cam_K = stack_cameras(data_samples, heatmaps.device,
                              type(self).__name__)[0].double().cpu().numpy()
        gt = (self.project_keypoints(data_samples, heatmaps.device)
              if all(s.has_gt for s in data_samples) else None)
        points_3d = self.keypoints_3d.double().cpu().numpy()
        for i, sample in enumerate(data_samples):
            uv, score = pixels[i].double().cpu().numpy(), scores[i].double().cpu().numpy()
            status, result = self._solve(points_3d, uv, score, cam_K[i], sample)
            if result is None:
                rotation, translation = fallback_pose(uv, cam_K[i], self.body_radius,
                                                      tuple(sample.input_size))
            else:
                rotation, translation = result.rotation, result.translation
            sample.pred_t = torch.as_tensor(translation, dtype=torch.float32)
            sample.pred_q = matrix_to_quaternion(torch.as_tensor(rotation)).float()
            sample.pose_status = torch.tensor(status)
            sample.pose_confidence = torch.tensor(self._confidence(status, result, score),
                                                  dtype=torch.float32)
            sample.pnp_ok = torch.tensor(status == POSE_STATUSES.index('pnp_ok'))
            sample.pred_keypoints = pixels[i].float().cpu()
            sample.keypoint_scores = scores[i].float().cpu()
            if gt is not None:
                errors = (pixels[i] - gt[0][i]).norm(dim=-1)[gt[1][i]]
                sample.keypoint_err_px = (errors.median().float().cpu() if len(errors)
                                          else torch.tensor(float('nan')))
        return data_samples

    def _solve(self, points_3d: np.ndarray, uv: np.ndarray, score: np.ndarray,
               cam_K: np.ndarray, sample: PoseDataSample):
        """``(status code, PnPResult or None)`` of one window: no events → no pose; else
        PnP on the confident keypoints, then on all of them; a crop that found no
        target marks whatever pose comes out ``no_target``."""
        if sample.get('num_events', -1) == 0:
            return POSE_STATUSES.index('no_events'), None
        status, result = 'pnp_ok', solve_pnp(points_3d, uv, score, cam_K, **self.pnp_cfg)
        if result is None and self.all_keypoints_cfg is not None:
            status = 'pnp_all_keypoints'
            result = solve_pnp(points_3d, uv, score, cam_K, **self.all_keypoints_cfg)
            if result is not None and not plausible_size(result, cam_K, self.body_radius,
                                                         sample.input_size[0]):
                result = None
        if result is None:
            status = 'fallback'
        if sample.get('crop_fallback', False):
            status = 'no_target'
        return POSE_STATUSES.index(status), result

    @staticmethod
    def _confidence(status: int, result, score: np.ndarray) -> float:
        """Mean score of the best ``num_inliers`` keypoints times the inlier share, halved
        when the crop found no target; 0 for a placeholder and for PnP on all keypoints
        (a best effort that neighbours in time should override: on the demo any weight
        above 0 made the filtered figures worse)."""
        if result is None or status == POSE_STATUSES.index('pnp_all_keypoints'):
            return 0.0
        best = np.sort(score)[::-1][:result.num_inliers]
        confidence = float(best.mean() * result.num_inliers / len(score))
        return confidence / 2 if status == POSE_STATUSES.index('no_target') else confidence

    def decode(self, outputs: dict[str, torch.Tensor]):
        """Not available: PnP needs each sample's intrinsics; use ``mode='predict'``."""
        raise NotImplementedError(
            "KeypointHeatmapHead solves the pose by PnP with each sample's cam_K: call the "
            "estimator with mode='predict' and data samples (tools/test.py, tools/infer.py); "
            "predict_pose / torch.export of the bare network give heatmaps only "
            "(mode='tensor')")
