"""Body keypoints projected onto the network input: heatmap targets and keypoint errors."""
import torch

from .rotation import quaternion_to_matrix


def project_keypoints(keypoints: torch.Tensor, quaternion: torch.Tensor,
                      translation: torch.Tensor, cam_K: torch.Tensor, input_size: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixels of body-frame keypoints under a pose, and whether each lies in the input.

    ``p_cam = R·p + t``, pixel ``K·p_cam / z`` (conventions.md); pixel ``x`` covers
    ``[x, x + 1)``, so a keypoint is inside when ``0 <= u < W`` and ``0 <= v < H``.

    Args:
        keypoints: ``(K, 3)`` body-frame keypoints (m).
        quaternion: ``(B, 4)`` body-to-camera rotations (x, y, z, w).
        translation: ``(B, 3)`` metres.
        cam_K: ``(B, 3, 3)`` intrinsics of the network input (cropped and scaled).
        input_size: ``(B, 2)`` input ``(W, H)`` in pixels.

    Returns:
        ``(B, K, 2)`` input pixels and ``(B, K)`` bool: in front of the camera and inside
        the input.
    """
    points = keypoints @ quaternion_to_matrix(quaternion).transpose(1, 2) + translation[:, None]
    pixels = points @ cam_K.transpose(1, 2)
    depth = pixels[..., 2:].clamp(min=1e-6)
    uv = pixels[..., :2] / depth
    visible = (points[..., 2] > 0) & (uv >= 0).all(-1) & (uv < input_size[:, None]).all(-1)
    return uv, visible
