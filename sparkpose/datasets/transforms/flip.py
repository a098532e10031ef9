"""Horizontal mirror of the event window together with the pose it implies."""
from collections.abc import Sequence

import numpy as np
import torch

from sparkpose.registry import TRANSFORMS
from sparkpose.structures import flip_pose_horizontal, matrix_to_quaternion, quaternion_to_matrix

from .base import RandomTransform, sample_name


@TRANSFORMS.register_module()
class RandomHorizontalFlip(RandomTransform):
    """Mirror the events left-right (``x → W − 1 − x``) and map the pose to match.

    With the image mirror ``S = diag(−1, 1, 1)`` the pose becomes ``(S·R·M, S·t)``
    (:func:`~sparkpose.structures.flip_pose_horizontal`), where ``M`` is a reflection of
    the body frame. With the default ``M = S`` this is the familiar "negate Tx, Qy, Qz".

    The mirrored window shows a *mirrored* body. The new label is exact only when the
    body is symmetric under ``M`` (then the mirrored body is the body itself, in pose
    ``S·R·M``); for an asymmetric spacecraft it is an approximation whose error grows
    with the asymmetry, so choose ``M`` as the body's best mirror plane, or leave the
    flip out.

    The event mirror is exact only for ``cx = W/2`` (pixel ``x`` covers ``[x, x+1)``, see
    the data contract); other intrinsics raise. Works on samples without poses (test
    files). Must come before the representation transform. Toggles ``flipped``.

    Args:
        prob: Probability of flipping.
        body_reflection: ``M`` as a 3×3 nested list, orthogonal with determinant −1,
            typically a mirror plane ``I − 2·n·nᵀ`` (body-frame normal ``n``); ``None``
            means ``S = diag(−1, 1, 1)``.
    """

    def __init__(self, prob: float = 0.5,
                 body_reflection: Sequence[Sequence[float]] | None = None) -> None:
        super().__init__(prob)
        self.body_reflection = None
        if body_reflection is not None:
            m = np.asarray(body_reflection, dtype=np.float64)
            if (m.shape != (3, 3) or not np.allclose(m @ m.T, np.eye(3), atol=1e-6)
                    or not np.isclose(np.linalg.det(m), -1.0, atol=1e-6)):
                raise ValueError(f'RandomHorizontalFlip: body_reflection must be a 3x3 '
                                 f'orthogonal matrix with determinant -1 (a reflection), '
                                 f'got {body_reflection!r}')
            self.body_reflection = torch.from_numpy(m)

    def validate(self, results: dict) -> None:
        """Also require ``cx = W/2``, the condition for an exact pixel mirror."""
        super().validate(results)
        width = results['sensor_size'][0]
        cx = float(np.asarray(results['cam_K'])[0, 2])
        if abs(cx - width / 2) > 1e-6:
            raise ValueError(f'RandomHorizontalFlip: {sample_name(results)} has cam_K cx = '
                             f'{cx}, but the mirror x -> W - 1 - x matches the camera only '
                             f'for cx = W/2 = {width / 2} (sensor_size '
                             f'{tuple(results["sensor_size"])}); remove the flip from the '
                             f'pipeline for this camera')

    def transform(self, results: dict) -> dict:
        """Mirror ``events['x']``, ``gt_t`` and ``gt_q`` (when present); toggle ``flipped``."""
        width = results['sensor_size'][0]
        events = results['events']
        x = np.asarray(events['x'])
        # A new dict and array: the reader may hand out cached arrays.
        results['events'] = {**events, 'x': (width - 1 - x).astype(x.dtype, copy=False)}
        if 'gt_q' in results:
            rotation = quaternion_to_matrix(torch.as_tensor(results['gt_q'], dtype=torch.float64))
            translation = torch.as_tensor(results['gt_t'], dtype=torch.float64)
            rotation, translation = flip_pose_horizontal(rotation, translation,
                                                         self.body_reflection)
            results['gt_t'] = translation.numpy()
            results['gt_q'] = matrix_to_quaternion(rotation).numpy()
        results['flipped'] = not results.get('flipped', False)
        return results
