# The `default` recipe: EventResNet from scratch + quaternion head on full-resolution
# 1280×720 voxel grids (5 bins × 2 polarities), AdamW + cosine.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/spades_voxel.py',
    '../_base_/models/eventresnet_quat.py',
    '../_base_/schedules/adamw_cosine_30e.py',
]

input_size = None  # sensor resolution
train_pipeline = [
    dict(type='EventsToVoxelGrid', num_bins=5, input_size=input_size),
    dict(type='PackPoseInputs', sparse=True),
]
test_pipeline = train_pipeline
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=16, dataset=dict(pipeline=test_pipeline))
