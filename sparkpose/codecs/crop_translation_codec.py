"""Translation targets for object-centric crops: the origin's pixel and the crop-relative depth."""
import math
from collections.abc import Sequence

import torch

from sparkpose.registry import CODECS

from .base_codec import BaseCodec

# Z·N/f' of a crop whose side is 1.25× the apparent diameter of a body of radius 1 m:
# S = 1.25·2·f·r/Z and f' = f·N/S give Z·N/f' = Z·S/f = 2.5·r.
_DEFAULT_DEPTH_MEAN = math.log(2.5)


@CODECS.register_module()
class CropTranslationCodec(BaseCodec):
    """Encodes ``t`` relative to the crop it was seen in, with the sample's input intrinsics.

    A crop of side ``S`` sensor pixels resized to ``N×N`` hides where the target was on the
    sensor and how large: the absolute ``t`` cannot be regressed from the crop alone. What
    the crop does show is where the body origin lies in it and how large the body looks
    relative to the crop, so the targets are

    * ``(u'/W - 0.5) / uv_std`` and ``(v'/H - 0.5) / uv_std``, with ``(u', v')`` the
      projection of ``t`` by the input intrinsics ``K'`` (the origin's input pixel);
    * ``(log(Z·W/f'_x) - depth_mean) / depth_std``: ``Z·W/f'_x = Z·S/f_x`` is the depth in
      units of "distance at which the body fills the crop", constant while the crop follows
      the target's apparent size.

    ``decode`` inverts this exactly with the same ``K'`` and input size (``Z`` first, then
    ``X``, ``Y`` by back-projecting ``(u', v')``), so it needs each sample's camera (the
    ``cam_K`` / ``input_size`` every head passes from the metainfo). ``K'``
    must be upper triangular with last row ``(0, 0, 1)`` (a pinhole with optional skew).

    The defaults suit crops of side ≈ 1.25× the apparent body diameter and a body radius of
    about 1 m (``depth_mean = log 2.5``); ``depth_std`` and ``uv_std`` allow for ±25 % crop
    scale and ±10 % centre jitter. Fit them to the data's crop statistics where known.

    Args:
        depth_mean: Mean of ``log(Z·W/f'_x)``.
        depth_std: Standard deviation of ``log(Z·W/f'_x)``, positive.
        uv_std: Standard deviation of ``u'/W - 0.5`` and ``v'/H - 0.5``, positive.
    """

    def __init__(self, depth_mean: float = _DEFAULT_DEPTH_MEAN, depth_std: float = 0.25,
                 uv_std: float = 0.1) -> None:
        if not depth_std > 0 or not uv_std > 0:
            raise ValueError(f'CropTranslationCodec: depth_std and uv_std must be positive, '
                             f'got depth_std={depth_std!r}, uv_std={uv_std!r}')
        self.depth_mean = float(depth_mean)
        self.depth_std = float(depth_std)
        self.uv_std = float(uv_std)

    def _camera(self, method: str, cam_K: torch.Tensor | Sequence | None,
                input_size: torch.Tensor | Sequence | None, like: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        self.require_geometry(method, cam_K=cam_K, input_size=input_size)
        cam_K = torch.as_tensor(cam_K).to(like)
        input_size = torch.as_tensor(input_size).to(like)
        if cam_K.shape[-2:] != (3, 3) or input_size.shape[-1:] != (2,):
            raise ValueError(f'CropTranslationCodec: expected cam_K (..., 3, 3) and input_size '
                             f'(..., 2) = (W, H), got {tuple(cam_K.shape)} and '
                             f'{tuple(input_size.shape)}')
        return cam_K, input_size

    def encode(self, translation: torch.Tensor, *, cam_K: torch.Tensor | Sequence | None = None,
               input_size: torch.Tensor | Sequence | None = None) -> torch.Tensor:
        """Metres ``(..., 3)`` → crop-relative targets ``(..., 3)`` (same dtype and device).

        Args:
            translation: ``(..., 3)`` positions of the body origin in the camera frame (m),
                ``Z > 0``.
            cam_K: ``(..., 3, 3)`` intrinsics of the network input (cropped and scaled).
            input_size: ``(..., 2)`` input ``(W, H)`` in pixels.
        """
        cam_K, input_size = self._camera('encode', cam_K, input_size, translation)
        depth = translation[..., 2]
        if not bool((depth > 0).all()):
            raise ValueError(f'CropTranslationCodec: translations need Z > 0 (the target in '
                             f'front of the camera), got min Z = {depth.min().item():.4g} m')
        pixel = (cam_K @ translation[..., None])[..., 0]
        uv = pixel[..., :2] / pixel[..., 2:] / input_size - 0.5
        log_depth = torch.log(depth * input_size[..., 0] / cam_K[..., 0, 0])
        return torch.cat((uv / self.uv_std,
                          ((log_depth - self.depth_mean) / self.depth_std)[..., None]), dim=-1)

    def decode(self, encoded: torch.Tensor, *, cam_K: torch.Tensor | Sequence | None = None,
               input_size: torch.Tensor | Sequence | None = None) -> torch.Tensor:
        """Crop-relative ``(..., 3)`` → metres ``(..., 3)``; torch ops only (exportable).

        Args:
            encoded: ``(..., 3)`` targets or predictions.
            cam_K: ``(..., 3, 3)`` intrinsics of the network input (cropped and scaled).
            input_size: ``(..., 2)`` input ``(W, H)`` in pixels.
        """
        cam_K, input_size = self._camera('decode', cam_K, input_size, encoded)
        fx, skew, cx = cam_K[..., 0, 0], cam_K[..., 0, 1], cam_K[..., 0, 2]
        fy, cy = cam_K[..., 1, 1], cam_K[..., 1, 2]
        uv = (encoded[..., :2] * self.uv_std + 0.5) * input_size
        depth = torch.exp(encoded[..., 2] * self.depth_std + self.depth_mean) * fx \
            / input_size[..., 0]
        y_norm = (uv[..., 1] - cy) / fy
        x_norm = (uv[..., 0] - cx - skew * y_norm) / fx
        return torch.stack((x_norm * depth, y_norm * depth, depth), dim=-1)
