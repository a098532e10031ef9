"""Pinned-memory batches and non-blocking copies to the GPU give the same device grids."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from sparkpose.datasets import pose_collate
from sparkpose.registry import MODELS, TRANSFORMS

pytestmark = pytest.mark.cuda


class _Windows(Dataset):
    """Packed samples of clustered events: sparse grids or raw events (on_device)."""

    def __init__(self, on_device: bool) -> None:
        self.voxel = TRANSFORMS.build(dict(type='EventsToVoxelGrid', num_bins=5,
                                           input_size=(256, 256), on_device=on_device))
        self.pack = TRANSFORMS.build(dict(type='PackPoseInputs', sparse=not on_device))

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng(index)
        n = 20_000
        return self.pack(self.voxel(dict(
            seq_id='RT000', label_index=index, timestamp=index, timestamp_us=100_000,
            window_us=(0, 100_000), sensor_size=(1280, 720), cam_K=np.eye(3),
            gt_t=np.array([0.0, 0.0, 5.0]), gt_q=np.array([0, 0, 0, 1.0]),
            events=dict(x=rng.integers(400, 800, n), y=rng.integers(200, 500, n),
                        t=np.sort(rng.integers(1, 100_001, n)), p=rng.integers(0, 2, n)))))


@pytest.mark.parametrize('on_device', [False, True], ids=['sparse', 'events'])
def test_pinned_batches_copy_non_blocking_to_the_same_grid(on_device):
    loader = DataLoader(_Windows(on_device), batch_size=4, num_workers=1,
                        collate_fn=pose_collate, pin_memory=True)
    batch = next(iter(loader))
    packed = batch['inputs']
    tensors = ([packed.offsets, packed.values, packed.counts] if not on_device
               else [packed.x, packed.y, packed.dt, packed.p, packed.counts, packed.spans])
    assert all(t.is_pinned() for t in tensors)
    blocking = MODELS.build(dict(type='PoseDataPreprocessor')).cuda()
    non_blocking = MODELS.build(dict(type='PoseDataPreprocessor', non_blocking=True)).cuda()
    expected = blocking(batch)['inputs']
    got = non_blocking(batch)['inputs']
    torch.cuda.synchronize()
    assert got.is_cuda and expected.abs().sum() > 0
    # Atomic float adds on the GPU may round in another order from run to run.
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
