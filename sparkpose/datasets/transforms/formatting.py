"""Packing a sample into the model's inputs and its PoseDataSample."""
from collections.abc import Sequence

import numpy as np
import torch

from sparkpose.registry import TRANSFORMS
from sparkpose.structures import PoseDataSample
from sparkpose.structures.sparse_inputs import SparseInputs
from sparkpose.structures.window_events import WindowEvents

from .base import sample_name

# Keys a sample may lack, with the value they stand for (no crop: crop_box None).
META_DEFAULTS = {'flipped': False, 'crop_box': None, 'crop_fallback': False,
                 'num_events': -1}


@TRANSFORMS.register_module()
class PackPoseInputs:
    """Turn ``results`` into ``dict(inputs=Tensor (C, H, W), data_samples=PoseDataSample)``.

    ``inputs`` becomes a float32 tensor, or with ``sparse=True`` the same values as a
    :class:`~sparkpose.structures.sparse_inputs.SparseInputs` (its non-zero cells); the
    ``meta_keys`` go into the sample's metainfo (``flipped`` defaults to ``False`` when no
    flip ran, ``crop_box`` to ``None`` and ``crop_fallback`` to ``False`` without a crop,
    ``num_events`` (events in the window before any transform) to -1 when unknown);
    ``gt_t`` ``(3,)`` metres and ``gt_q`` ``(4,)`` scalar-last become float32 data fields
    when the sample has a pose (test files have none). Must be the last transform.

    Args:
        meta_keys: Keys of ``results`` copied into the metainfo; a missing one raises.
        sparse: Pack dense ``inputs`` sparse: with DataLoader workers, a fraction of the
            bytes to hand to the main process for event voxel grids, for one extraction
            pass; ``PoseDataPreprocessor`` densifies it on the model's device. Pair it
            with ``collate_fn=dict(type='sparkpose.pose_collate')``. A dense grid costs
            twice its dense size in this form (input noise belongs in
            ``PoseDataPreprocessor``). A representation with ``sparse=True`` does the same
            cheaper (no dense grid at all); its ``SparseInputs`` pass through as they are,
            like the events of one with ``on_device=True`` (``WindowEvents``; ``sparse``
            must then be False).
    """

    def __init__(self, meta_keys: Sequence[str] = (
            'seq_id', 'label_index', 'timestamp', 'timestamp_us', 'cam_K', 'input_size',
            'sensor_size', 'flipped', 'crop_box', 'crop_fallback', 'num_events'),
                 sparse: bool = False) -> None:
        self.meta_keys = tuple(meta_keys)
        self.sparse = sparse

    def __call__(self, results: dict) -> dict:
        """Pack ``results``; see the class docstring."""
        if 'inputs' not in results:
            raise KeyError(f"PackPoseInputs: {sample_name(results)} has no 'inputs'; put a "
                           f"representation transform (EventsToVoxelGrid, EventsToFrame) "
                           f"before PackPoseInputs")
        missing = [k for k in self.meta_keys if k not in results and k not in META_DEFAULTS]
        if missing:
            raise KeyError(f'PackPoseInputs: {sample_name(results)} lacks meta_keys '
                           f'{missing}; it has {sorted(results)}')
        metainfo = {k: results.get(k, META_DEFAULTS.get(k)) for k in self.meta_keys}
        data_sample = PoseDataSample(metainfo=metainfo)
        if ('gt_t' in results) != ('gt_q' in results):
            raise KeyError(f'PackPoseInputs: {sample_name(results)} has only one of gt_t, '
                           f'gt_q; a pose needs both')
        if 'gt_t' in results:
            data_sample.gt_t = torch.from_numpy(np.asarray(results['gt_t'], dtype=np.float32))
            data_sample.gt_q = torch.from_numpy(np.asarray(results['gt_q'], dtype=np.float32))
        if isinstance(results['inputs'], WindowEvents):
            if self.sparse:
                raise ValueError(f'PackPoseInputs: {sample_name(results)} carries its events '
                                 f'(a representation with on_device=True); sparse=True has no '
                                 f'grid to pack, set it to False')
            inputs = results['inputs']
        elif isinstance(results['inputs'], SparseInputs):  # a representation with sparse=True
            inputs = results['inputs']
        elif self.sparse:
            inputs = SparseInputs.from_dense(results['inputs'])
        else:
            inputs = torch.from_numpy(np.ascontiguousarray(results['inputs'], dtype=np.float32))
        return dict(inputs=inputs, data_samples=data_sample)
