"""Rotation conversions and distances, pure torch, any leading batch shape.

Conventions (fixed for the whole project, see docs/conventions.md):
    * quaternions are scalar-last ``(..., 4)`` = ``(x, y, z, w)``, unit norm; outputs are
      canonicalised to ``w >= 0``;
    * rotation matrices are ``(..., 3, 3)`` and map body to camera:
      ``p_cam = R @ p_body + t``;
    * the 6-D representation is the first two columns of ``R`` (Zhou et al., CVPR 2019),
      stored as ``(..., 6)`` = ``[R[:, 0], R[:, 1]]``.
Angles are radians unless a name says ``deg``.
"""
import torch
import torch.nn.functional as F

# acos is evaluated strictly inside (-1, 1): its gradient is infinite at ±1 and in half
# precision a trace of exactly ±1 would give NaN.
_ACOS_EPS = 1e-7


def canonical_quaternion(quat: torch.Tensor) -> torch.Tensor:
    """Flip the sign of quaternions with ``w < 0`` (q and -q are the same rotation).

    Args:
        quat: ``(..., 4)`` scalar-last quaternions.

    Returns:
        ``(..., 4)`` quaternions with ``w >= 0``.
    """
    return torch.where(quat[..., 3:4] < 0, -quat, quat)


def quaternion_to_matrix(quat: torch.Tensor) -> torch.Tensor:
    """Convert scalar-last quaternions to rotation matrices (normalising them first).

    Args:
        quat: ``(..., 4)`` quaternions ``(x, y, z, w)``; need not be unit norm.

    Returns:
        ``(..., 3, 3)`` rotation matrices.
    """
    x, y, z, w = F.normalize(quat, dim=-1).unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    rows = (
        1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy),
        2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx),
        2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy),
    )
    return torch.stack(rows, dim=-1).reshape(quat.shape[:-1] + (3, 3))


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """Convert rotation matrices to canonical scalar-last quaternions.

    Uses the numerically best of the four candidate formulas per matrix (largest
    denominator), so it is stable for every rotation, including 180° turns.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(..., 4)`` unit quaternions ``(x, y, z, w)`` with ``w >= 0``.
    """
    m = matrix
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # 4·q_i² for i in (x, y, z, w), clamped: rounding can make them slightly negative.
    four_sq = torch.stack((
        1 + m00 - m11 - m22,
        1 - m00 + m11 - m22,
        1 - m00 - m11 + m22,
        1 + m00 + m11 + m22,
    ), dim=-1).clamp(min=0)
    # Candidate i is 4·q_i·q, computed from the off-diagonal terms.
    candidates = torch.stack((
        torch.stack((four_sq[..., 0], m[..., 0, 1] + m[..., 1, 0],
                     m[..., 0, 2] + m[..., 2, 0], m[..., 2, 1] - m[..., 1, 2]), -1),
        torch.stack((m[..., 0, 1] + m[..., 1, 0], four_sq[..., 1],
                     m[..., 1, 2] + m[..., 2, 1], m[..., 0, 2] - m[..., 2, 0]), -1),
        torch.stack((m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1],
                     four_sq[..., 2], m[..., 1, 0] - m[..., 0, 1]), -1),
        torch.stack((m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                     m[..., 1, 0] - m[..., 0, 1], four_sq[..., 3]), -1),
    ), dim=-2)
    best = four_sq.argmax(dim=-1)
    index = best[..., None, None].expand(best.shape + (1, 4))
    quat = torch.gather(candidates, -2, index).squeeze(-2)
    return canonical_quaternion(F.normalize(quat, dim=-1))


def rotation_6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """Map 6-D vectors to rotation matrices by Gram–Schmidt (Zhou et al., 2019).

    Args:
        rot6d: ``(..., 6)``: two 3-vectors, the would-be first and second columns.

    Returns:
        ``(..., 3, 3)`` rotation matrices whose first column is the normalised first
        vector.
    """
    a1, a2 = rot6d[..., :3], rot6d[..., 3:]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-1)


def matrix_to_rotation_6d(matrix: torch.Tensor) -> torch.Tensor:
    """Take the first two columns of rotation matrices.

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(..., 6)`` = ``[R[..., :, 0], R[..., :, 1]]``.
    """
    return torch.cat((matrix[..., :, 0], matrix[..., :, 1]), dim=-1)


def geodesic_distance_matrix(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Angle of the relative rotation ``pred^T · target``, in radians.

    Computed in at least float32 (also under fp16/bf16 autocast) with the cosine clamped
    to ``[-1 + 1e-7, 1 - 1e-7]``, so it is finite and differentiable when
    ``pred == target``.

    Args:
        pred: ``(..., 3, 3)`` rotation matrices.
        target: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(...)`` angles in ``[0, π]``.
    """
    dtype = torch.promote_types(torch.promote_types(pred.dtype, target.dtype), torch.float32)
    with torch.autocast(device_type=pred.device.type, enabled=False):
        pred, target = pred.to(dtype), target.to(dtype)
        trace = (pred * target).sum(dim=(-2, -1))  # trace(pred^T · target)
        cos = ((trace - 1) / 2).clamp(-1 + _ACOS_EPS, 1 - _ACOS_EPS)
        return torch.acos(cos)


def geodesic_distance_quaternion(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Rotation angle between quaternions, ``2·acos(|<q̂, q>|)``, in radians.

    Sign-invariant (q ≡ -q); inputs are normalised; float32 or wider inside, clamped.

    Args:
        pred: ``(..., 4)`` scalar-last quaternions.
        target: ``(..., 4)`` scalar-last quaternions.

    Returns:
        ``(...)`` angles in ``[0, π]``.
    """
    dtype = torch.promote_types(torch.promote_types(pred.dtype, target.dtype), torch.float32)
    with torch.autocast(device_type=pred.device.type, enabled=False):
        pred = F.normalize(pred.to(dtype), dim=-1)
        target = F.normalize(target.to(dtype), dim=-1)
        dot = (pred * target).sum(-1).abs().clamp(max=1 - _ACOS_EPS)
        return 2 * torch.acos(dot)


def flip_pose_horizontal(rotation: torch.Tensor, translation: torch.Tensor,
                         body_reflection: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Pose seen in the horizontally mirrored image: ``(S·R·M, S·t)``, ``S = diag(-1,1,1)``.

    Exact when ``cx = W/2`` and the body is symmetric under the reflection ``M``; with the
    default ``M = S`` this is "negate Tx, Qy, Qz". For a body that is not symmetric under
    ``M`` it is an approximation (the mirrored image shows a mirrored body).

    Args:
        rotation: ``(..., 3, 3)`` body-to-camera rotations.
        translation: ``(..., 3)`` positions in the camera frame (m).
        body_reflection: ``(3, 3)`` reflection ``M`` (det −1) in body coordinates;
            ``None`` means ``S``.

    Returns:
        The flipped ``(rotation, translation)``; ``S·R·M`` is a proper rotation.
    """
    mirror = torch.diag(rotation.new_tensor([-1.0, 1.0, 1.0]))
    reflection = mirror if body_reflection is None else body_reflection.to(rotation)
    return mirror @ rotation @ reflection, translation * mirror.diagonal()
