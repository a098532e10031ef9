# The CPU demo with this project's parts: DepthwiseCNN instead of VoxelCNN, and event-time
# jitter in the training pipeline. Run from the repository root:
#   PYTHONPATH=. python tools/train.py projects/example/configs/rot6d_dwcnn_1xb32-30e_synthetic-128x128.py
_base_ = ['../../../configs/voxelcnn/rot6d_voxelcnn_1xb32-30e_synthetic-128x128.py']

# Registers DepthwiseCNN and RandomTimeJitter; needs the repository root on the path.
custom_imports = dict(imports=['projects.example.example_project'], allow_failed_imports=False)

input_size = (128, 128)
# 128 features on a 4×4 grid (SpatialPooling): the head's in_channels of the base config.
model = dict(backbone=dict(_delete_=True, type='DepthwiseCNN', in_channels=10,
                           stem_channels=16, channels=(32, 64, 128)))

train_pipeline = [
    dict(type='RandomTimeJitter', prob=0.5, sigma_us=500.0),
    dict(type='EventsToVoxelGrid', num_bins=5, input_size=input_size),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
