"""Post-processing of predicted poses: temporal smoothing along a trajectory.

Conventions as everywhere (docs/conventions.md): translations ``(..., 3)`` in metres, quaternions
``(..., 4)`` scalar-last ``(x, y, z, w)``; outputs are unit quaternions with ``w >= 0``.
A *sequence* is one trajectory's poses at consecutive labels (10 Hz), oldest first, along
dim 0; group predictions by ``seq_id`` and sort them by ``label_index`` before smoothing.
Inputs may be tensors or numpy arrays; outputs are tensors of the input's floating dtype
(float32 for integer input). Arithmetic runs in float64.
"""
import torch
import torch.nn.functional as F

from sparkpose.structures import align_quaternion_signs, canonical_quaternion


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
