"""The per-sample container passed between pipeline, model and metric."""
from mmengine.structures import BaseDataElement


class PoseDataSample(BaseDataElement):
    """Targets, predictions and identity of one event window.

    Metainfo (set by ``PackPoseInputs``): ``seq_id`` (e.g. ``'RT000'``), ``label_index``,
    ``timestamp`` (label timestamp in the file's own ticks), ``timestamp_us``,
    ``cam_K`` (3×3 intrinsics scaled to the network input), ``input_size`` ``(W, H)``,
    ``sensor_size`` ``(W, H)``, ``flipped``.

    Data fields (tensors): ``gt_t`` ``(3,)`` metres and ``gt_q`` ``(4,)`` scalar-last
    quaternion when the file has poses; ``pred_t`` / ``pred_q`` after ``predict``, plus
    whatever extra outputs a head adds (e.g. ``pred_log_var``).
    """

    @property
    def has_gt(self) -> bool:
        """Whether ground-truth pose is present (test files carry timestamps only)."""
        return 'gt_t' in self and 'gt_q' in self
