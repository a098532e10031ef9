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


def geodesic_distance_quaternion(pred: torch.Tensor, target: torch.Tensor,
                                 margin: float = _ACOS_EPS) -> torch.Tensor:
    """Rotation angle between quaternions, ``2·acos(|<q̂, q>|)``, in radians.

    Sign-invariant (q ≡ -q); inputs are normalised; float32 or wider inside.

    Args:
        pred: ``(..., 4)`` scalar-last quaternions.
        target: ``(..., 4)`` scalar-last quaternions, broadcastable against ``pred``.
        margin: The cosine is clamped to ``1 - margin``: the default keeps the gradient
            finite for training; evaluation passes 0 so equal rotations give exactly 0.

    Returns:
        ``(...)`` angles in ``[0, π]``.
    """
    dtype = torch.promote_types(torch.promote_types(pred.dtype, target.dtype), torch.float32)
    with torch.autocast(device_type=pred.device.type, enabled=False):
        pred = F.normalize(pred.to(dtype), dim=-1)
        target = F.normalize(target.to(dtype), dim=-1)
        dot = (pred * target).sum(-1).abs().clamp(max=1 - margin)
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


def quaternion_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a ⊗ b`` of scalar-last quaternions: ``R(a ⊗ b) = R(a) · R(b)``.

    Args:
        a: ``(..., 4)`` quaternions.
        b: ``(..., 4)`` quaternions, broadcastable against ``a``.

    Returns:
        ``(..., 4)`` products (not canonicalised: the sign follows the inputs).
    """
    av, aw = a[..., :3], a[..., 3:]
    bv, bw = b[..., :3], b[..., 3:]
    av, bv = torch.broadcast_tensors(av, bv)
    return torch.cat((aw * bv + bw * av + torch.cross(av, bv, dim=-1),
                      aw * bw - (av * bv).sum(-1, keepdim=True)), dim=-1)


def axis_angle_to_quaternion(rotvec: torch.Tensor) -> torch.Tensor:
    """Convert rotation vectors (axis times angle, radians) to scalar-last quaternions.

    ``sin(θ/2)/θ`` is written with ``sinc`` so the zero vector maps to the identity and
    the gradient there is finite.

    Args:
        rotvec: ``(..., 3)`` rotation vectors.

    Returns:
        ``(..., 4)`` unit quaternions ``(x, y, z, w)`` (``w >= 0`` for angles up to π).
    """
    angle = rotvec.norm(dim=-1, keepdim=True)
    # torch.sinc(x) = sin(πx)/(πx), so sin(θ/2)/θ = sinc(θ/(2π)) / 2.
    return torch.cat((rotvec * torch.sinc(angle / (2 * torch.pi)) / 2, torch.cos(angle / 2)),
                     dim=-1)


def quaternion_to_axis_angle(quat: torch.Tensor) -> torch.Tensor:
    """Rotation vectors (axis times angle, radians, angle in ``[0, π]``) of quaternions.

    The inverse of :func:`axis_angle_to_quaternion`: the logarithm map of SO(3), with which
    poses are averaged and fitted in a tangent space instead of as raw quaternions.

    Args:
        quat: ``(..., 4)`` quaternions ``(x, y, z, w)``, any sign, need not be unit.

    Returns:
        ``(..., 3)`` rotation vectors.
    """
    quat = canonical_quaternion(quat / quat.norm(dim=-1, keepdim=True).clamp(min=1e-12))
    vec, w = quat[..., :3], quat[..., 3:]
    sin_half = vec.norm(dim=-1, keepdim=True)
    angle = 2 * torch.atan2(sin_half, w)
    # angle / sin(angle / 2) -> 2 as the angle -> 0.
    scale = torch.where(sin_half > 1e-12, angle / sin_half.clamp(min=1e-12),
                        torch.full_like(angle, 2.0))
    return vec * scale


def axis_angle_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Convert rotation vectors (axis times angle, radians) to ``(..., 3, 3)`` matrices."""
    return quaternion_to_matrix(axis_angle_to_quaternion(rotvec))


def align_quaternion_signs(quaternions: torch.Tensor) -> torch.Tensor:
    """Flip signs along a sequence so that each quaternion is in its predecessor's hemisphere.

    ``q`` and ``-q`` are the same rotation; canonical outputs (``w >= 0``) jump between the
    two whenever ``w`` crosses zero, and averaging across such a jump would cancel the
    quaternions. After alignment ``<q_i, q_{i-1}> >= 0`` for every ``i`` (the first one is
    kept), so neighbours can be averaged.

    Args:
        quaternions: ``(N, 4)`` quaternions of one sequence.

    Returns:
        ``(N, 4)`` the same rotations, sign-continuous.
    """
    dots = (quaternions[1:] * quaternions[:-1]).sum(-1)
    # Each negative dot product toggles the sign of all later quaternions.
    steps = torch.where(dots < 0, -1.0, 1.0).to(quaternions)
    signs = torch.cat((quaternions.new_ones(1), steps.cumprod(0)))
    return quaternions * signs[:, None]


def mean_quaternion(quaternions: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Normalised mean of quaternions along ``dim``, each sign-aligned to the first.

    This is the chordal mean of the rotations for quaternions within 90° of the first
    one; for rotations within a few tens of degrees of each other it is close to the
    geodesic mean.

    Args:
        quaternions: ``(..., K, ..., 4)`` quaternions, ``K`` along ``dim``; need not be unit.
        dim: The dimension to average over (not the last one).

    Returns:
        The unit quaternions, ``w >= 0``, with ``dim`` removed.
    """
    quats = F.normalize(quaternions, dim=-1)
    reference = quats.select(dim, 0).unsqueeze(dim)
    signs = torch.where((quats * reference).sum(-1, keepdim=True) < 0, -1.0, 1.0).to(quats)
    return canonical_quaternion(F.normalize((quats * signs).sum(dim), dim=-1))


def chordal_mean_rotation(matrices: torch.Tensor) -> torch.Tensor:
    """The rotation closest in Frobenius norm to the average of ``(N, 3, 3)`` rotations.

    The SVD projection of the mean matrix onto SO(3); it minimises ``Σ‖R − R_i‖²_F``.
    Unlike :func:`mean_quaternion` it needs no sign alignment, so it suits widely spread
    sets (e.g. the mean pose of a whole training split).

    Args:
        matrices: ``(N, 3, 3)`` rotation matrices.

    Returns:
        ``(3, 3)`` rotation matrix (det +1).
    """
    u, _, vh = torch.linalg.svd(matrices.mean(0))
    # Flip the last singular direction if needed so the projection is a rotation.
    d = torch.ones(3, dtype=matrices.dtype, device=matrices.device)
    d[-1] = torch.sign(torch.linalg.det(u @ vh))
    return u @ torch.diag(d) @ vh


def symmetric_geodesic_distances(pred: torch.Tensor, target: torch.Tensor,
                                 symmetries: torch.Tensor) -> torch.Tensor:
    """Angles ``d(R̂, R·S_k)`` to every symmetric copy of the target, in radians.

    Float32 or wider with the cosine clamped, like :func:`geodesic_distance_matrix`.

    Args:
        pred: ``(..., 3, 3)`` predicted rotations.
        target: ``(..., 3, 3)`` target rotations.
        symmetries: ``(S, 3, 3)`` body-frame symmetries (rotations ``S_k`` under which the
            body looks the same: ``R`` and ``R·S_k`` give the same image).

    Returns:
        ``(..., S)`` angles in ``[0, π]``.
    """
    dtype = torch.promote_types(torch.promote_types(pred.dtype, target.dtype), torch.float32)
    with torch.autocast(device_type=pred.device.type, enabled=False):
        copies = target.to(dtype)[..., None, :, :] @ symmetries.to(target.device, dtype)
        return geodesic_distance_matrix(pred.to(dtype)[..., None, :, :], copies)
