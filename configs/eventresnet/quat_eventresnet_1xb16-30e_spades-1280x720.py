# The `default` recipe: EventResNet from scratch + quaternion head on full-resolution
# 1280×720 voxel grids (5 bins × 2 polarities), AdamW + cosine.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/spades_voxel.py',
    '../_base_/models/eventresnet_quat.py',
    '../_base_/schedules/adamw_cosine_30e.py',
]

input_size = None  # sensor resolution
# A 10×720×1280 grid is 36.9 MB; built in a worker it starved the GPU (most of an
# iteration waiting for data; docs/performance.md). The workers hand over the window's
# events instead (9 bytes per event) and the data preprocessor builds the grid on the GPU,
# from pinned memory.
train_pipeline = [
    dict(type='EventsToVoxelGrid', num_bins=5, input_size=input_size, on_device=True),
    dict(type='PackPoseInputs'),
]
test_pipeline = train_pipeline
model = dict(
    data_preprocessor=dict(type='PoseDataPreprocessor', non_blocking=True),
    channels_last=True)
train_dataloader = dict(batch_size=16, pin_memory=True, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, pin_memory=True, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=16, pin_memory=True, dataset=dict(pipeline=test_pipeline))
# One input shape for the whole run: let cuDNN pick its fastest convolution algorithms.
env_cfg = dict(cudnn_benchmark=True)
