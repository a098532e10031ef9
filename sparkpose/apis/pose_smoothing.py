"""Post-processing of predicted poses: temporal smoothing and flip test-time augmentation.

Conventions as everywhere (docs/conventions.md): translations ``(..., 3)`` in metres, quaternions
``(..., 4)`` scalar-last ``(x, y, z, w)``; outputs are unit quaternions with ``w >= 0``.
A *sequence* is one trajectory's poses at consecutive labels (10 Hz), oldest first, along
dim 0; group predictions by ``seq_id`` and sort them by ``label_index`` before smoothing.
Inputs may be tensors or numpy arrays; outputs are tensors of the input's floating dtype
(float32 for integer input). Arithmetic runs in float64.
"""
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from sparkpose.structures import (
    canonical_quaternion,
    flip_pose_horizontal,
    matrix_to_quaternion,
    quaternion_to_matrix,
)


def _as_float64(values: object, name: str, last_dim: int) -> tuple[torch.Tensor, torch.dtype]:
    """``values`` as float64 and the dtype to return; checks the size of the last dim."""
    tensor = torch.as_tensor(values)
    if tensor.ndim == 0 or tensor.shape[-1] != last_dim:
        raise ValueError(f'{name}: expected shape (..., {last_dim}), got {tuple(tensor.shape)}')
    dtype = tensor.dtype if tensor.is_floating_point() else torch.float32
    return tensor.to(torch.float64), dtype


def moving_average(values: torch.Tensor, window: int) -> torch.Tensor:
    """Centred moving average along dim 0; the window shrinks symmetrically at the ends.

    Sample ``i`` is the mean of ``values[i - h : i + h + 1]`` with
    ``h = min(window // 2, i, N - 1 - i)``. The window stays centred, so there is no phase
    lag and a trajectory linear in time is reproduced exactly, ends included; the first
    and last samples are left as they are.

    Args:
        values: ``(N, ...)`` samples, e.g. ``(N, 3)`` translations (m).
        window: Full window length in samples, a positive odd integer (1: no smoothing).

    Returns:
        ``(N, ...)`` averaged values, same dtype as ``values``.
    """
    if isinstance(window, bool) or int(window) != window or window < 1 or window % 2 == 0:
        raise ValueError(f'moving_average: window must be a positive odd integer (a centred '
                         f'window), got {window!r}')
    tensor = torch.as_tensor(values)
    dtype = tensor.dtype if tensor.is_floating_point() else torch.float32
    tensor = tensor.to(torch.float64)
    num = tensor.shape[0]
    index = torch.arange(num)
    half = torch.minimum(torch.minimum(index, num - 1 - index),
                         torch.full_like(index, int(window) // 2))
    # Window sums as differences of a prefix sum: O(N) for any window length.
    prefix = torch.cat((tensor.new_zeros((1,) + tensor.shape[1:]), tensor.cumsum(0)))
    sums = prefix[index + half + 1] - prefix[index - half]
    counts = (2 * half + 1).to(torch.float64).reshape((num,) + (1,) * (tensor.ndim - 1))
    return (sums / counts).to(dtype)


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
    quats, dtype = _as_float64(quaternions, 'align_quaternion_signs', 4)
    dots = (quats[1:] * quats[:-1]).sum(-1)
    # Each negative dot product toggles the sign of all later quaternions.
    steps = torch.where(dots < 0, -1.0, 1.0).to(quats)
    signs = torch.cat((quats.new_ones(1), steps.cumprod(0)))
    return (quats * signs[:, None]).to(dtype)


def smooth_quaternions(quaternions: torch.Tensor, window: int) -> torch.Tensor:
    """Quaternion-aware centred moving average of a rotation sequence.

    Sign-aligns the sequence (:func:`align_quaternion_signs`), averages it with
    :func:`moving_average` and renormalises. The normalised mean is the chordal mean of
    the rotations: it matches the geodesic mean to within a small fraction of the spread
    for spreads of a few tens of degrees, and a rotation about a fixed axis at a constant
    rate is reproduced exactly (symmetric windows). Like any moving average it cuts the
    corners of accelerating motion, so keep ``window`` short compared with the time over
    which the rotation rate changes.

    Args:
        quaternions: ``(N, 4)`` quaternions of one sequence, any signs, need not be unit.
        window: Full window length in samples, positive and odd.

    Returns:
        ``(N, 4)`` unit quaternions, ``w >= 0``.
    """
    quats, dtype = _as_float64(quaternions, 'smooth_quaternions', 4)
    averaged = moving_average(align_quaternion_signs(F.normalize(quats, dim=-1)), window)
    return canonical_quaternion(F.normalize(averaged, dim=-1)).to(dtype)


def smooth_pose_sequence(translations: torch.Tensor, quaternions: torch.Tensor,
                         window: int = 5, rotation_window: int | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth one trajectory's poses: translations and rotations, centred windows.

    Args:
        translations: ``(N, 3)`` positions (m), consecutive labels of one sequence.
        quaternions: ``(N, 4)`` rotations (x, y, z, w) of the same labels.
        window: Window length in labels (10 Hz: 5 spans 0.4 s), positive and odd.
        rotation_window: Window for the rotations; ``None``: the same as ``window``.

    Returns:
        ``(N, 3)`` smoothed translations (m) and ``(N, 4)`` unit quaternions, ``w >= 0``.
    """
    translations, dtype = _as_float64(translations, 'smooth_pose_sequence', 3)
    quaternions = torch.as_tensor(quaternions)
    if translations.ndim != 2 or quaternions.shape[:-1] != translations.shape[:-1]:
        raise ValueError(f'smooth_pose_sequence: expected (N, 3) translations and (N, 4) '
                         f'quaternions, got {tuple(translations.shape)} and '
                         f'{tuple(quaternions.shape)}')
    rotation_window = window if rotation_window is None else rotation_window
    return (moving_average(translations, window).to(dtype),
            smooth_quaternions(quaternions, rotation_window))


def mean_quaternion(quaternions: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Normalised mean of quaternions along ``dim``, each sign-aligned to the first.

    Valid for rotations that are close to each other (say within a few tens of degrees);
    there it approximates the geodesic mean closely.

    Args:
        quaternions: ``(..., K, ..., 4)`` quaternions, ``K`` along ``dim``.
        dim: The dimension to average over (not the last one).

    Returns:
        The unit quaternions, ``w >= 0``, with ``dim`` removed.
    """
    quats, dtype = _as_float64(quaternions, 'mean_quaternion', 4)
    quats = F.normalize(quats, dim=-1)
    reference = quats.select(dim, 0).unsqueeze(dim)
    signs = torch.where((quats * reference).sum(-1, keepdim=True) < 0, -1.0, 1.0).to(quats)
    mean = (quats * signs).sum(dim)
    return canonical_quaternion(F.normalize(mean, dim=-1)).to(dtype)


def merge_flip_tta(translation: torch.Tensor, quaternion: torch.Tensor,
                   flipped_translation: torch.Tensor, flipped_quaternion: torch.Tensor,
                   body_reflection: torch.Tensor | Sequence[Sequence[float]] | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge the pose predicted on a window with the one predicted on its mirror image.

    The mirrored window shows the pose ``(S·R·M, S·t)`` (:func:`flip_pose_horizontal`);
    it is mapped back with ``M⁻¹ = Mᵀ`` (for a plane mirror ``M`` is its own inverse, so
    the flip is undone by flipping again), then translations are averaged and rotations
    combined with :func:`mean_quaternion`. Use the same ``M`` as the training flip
    (``RandomHorizontalFlip.body_reflection``); like that flip it is exact only for a body
    symmetric under ``M``.

    Args:
        translation: ``(..., 3)`` pose predicted on the original window (m).
        quaternion: ``(..., 4)`` its rotation (x, y, z, w).
        flipped_translation: ``(..., 3)`` pose predicted on the mirrored window (m).
        flipped_quaternion: ``(..., 4)`` its rotation.
        body_reflection: ``(3, 3)`` reflection ``M`` in body coordinates (orthogonal,
            determinant −1); ``None`` means ``S = diag(-1, 1, 1)``.

    Returns:
        ``(..., 3)`` merged translations (m) and ``(..., 4)`` unit quaternions, ``w >= 0``.
    """
    translation, dtype = _as_float64(translation, 'merge_flip_tta', 3)
    flipped_translation, _ = _as_float64(flipped_translation, 'merge_flip_tta', 3)
    quaternion, _ = _as_float64(quaternion, 'merge_flip_tta', 4)
    flipped_quaternion, _ = _as_float64(flipped_quaternion, 'merge_flip_tta', 4)
    inverse = None
    if body_reflection is not None:
        inverse = torch.as_tensor(body_reflection, dtype=torch.float64).T
    rotation, unflipped_t = flip_pose_horizontal(quaternion_to_matrix(flipped_quaternion),
                                                 flipped_translation, inverse)
    quats = torch.stack((quaternion, matrix_to_quaternion(rotation)))
    return ((translation + unflipped_t) / 2).to(dtype), mean_quaternion(quats).to(dtype)
