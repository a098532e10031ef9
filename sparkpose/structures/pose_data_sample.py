"""The per-sample container passed between pipeline, model and metric."""
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.structures import BaseDataElement


class PoseDataSample(BaseDataElement):
    """Targets, predictions and identity of one event window.

    Metainfo (set by ``PackPoseInputs``): ``seq_id`` (e.g. ``'RT000'``), ``label_index``,
    ``timestamp`` (label timestamp in the file's own ticks), ``timestamp_us``,
    ``cam_K`` (3×3 intrinsics scaled to the network input), ``input_size`` ``(W, H)``,
    ``sensor_size`` ``(W, H)``, ``flipped``.

    Data fields (tensors): ``gt_t`` ``(3,)`` metres and ``gt_q`` ``(4,)`` scalar-last
    quaternion when the file has poses; ``pred_t`` / ``pred_q`` after ``predict``, and
    ``pred_extras``: a dict of the head's other per-sample outputs, the names its
    ``extra_outputs`` declares (e.g. ``pose_status``, ``pose_confidence``, ``keypoints``).
    """

    @property
    def has_gt(self) -> bool:
        """Whether ground-truth pose is present (test files carry timestamps only)."""
        return 'gt_t' in self and 'gt_q' in self

    def extra_output(self, name: str, default=None):
        """The head's extra output ``name`` (``pred_extras[name]``), ``default`` if absent."""
        return self.get('pred_extras', {}).get(name, default)


def stack_cameras(data_samples: Sequence[PoseDataSample], device: torch.device | str,
                  owner: str, needed_by: str | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, 3, 3)`` input intrinsics and ``(B, 2)`` input ``(W, H)`` of a batch, float32.

    Heads that work in input pixels (keypoints, crop-relative translations) need both;
    a sample without them is an error naming ``owner`` (and ``needed_by``, the part that
    uses them, when it is not the owner itself).
    """
    missing = [i for i, s in enumerate(data_samples) if 'cam_K' not in s or 'input_size' not in s]
    if missing:
        user = f', which {needed_by} needs' if needed_by else ''
        raise ValueError(f'{owner}: data samples {missing[:5]} lack cam_K / input_size '
                         f'metainfo{user} (PackPoseInputs adds them)')
    cam_K = torch.stack([torch.as_tensor(np.asarray(s.cam_K, np.float64)) for s in data_samples])
    input_size = torch.tensor([tuple(s.input_size) for s in data_samples], dtype=torch.float64)
    return cam_K.to(device, torch.float32), input_size.to(device, torch.float32)


def batch_geometry(data_samples: Sequence[PoseDataSample], device: torch.device | str,
                   owner: str) -> dict[str, torch.Tensor]:
    """``dict(cam_K=..., input_size=...)`` of :func:`stack_cameras` when every sample carries
    them, ``{}`` when none does: the keyword arguments a head passes to its codec's and its
    own ``decode`` (a codec that needs them says so). Some without is an error."""
    if not any('cam_K' in s or 'input_size' in s for s in data_samples):
        return {}
    cam_K, input_size = stack_cameras(data_samples, device, owner)
    return dict(cam_K=cam_K, input_size=input_size)
