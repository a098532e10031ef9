# The former CPU demo: a small CNN regressing a 6-D rotation from full-frame 128×128 voxel
# grids of the generated synthetic set. Its attitude does not carry over to unseen
# trajectories (see the README's learning curve); the demo now uses
# configs/keypoint/kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/spades_voxel.py',
    '../_base_/models/voxelcnn_rot6d.py',
    '../_base_/schedules/adamw_cosine_30e.py',
]

data_root = 'data/demo/'
input_size = (128, 128)
max_epochs = 30
base_lr = 1e-3

# Translation statistics of the generated set (tools/analysis_tools/translation_stats.py
# --data-root data/demo --split train.txt); the SPADES figures differ.
codec = dict(type='TranslationNormalizer', mean=[0.02, 0.08, 7.48], std=[0.82, 0.41, 2.19])
model = dict(head=dict(codec=codec))

train_pipeline = [
    dict(type='EventsToVoxelGrid', num_bins=5, input_size=input_size, sparse=True),
    dict(type='PackPoseInputs'),
]
test_pipeline = [
    dict(type='EventsToVoxelGrid', num_bins=5, input_size=input_size, sparse=True),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=64, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))

optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.01, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(logger=dict(interval=20))
# Every validation: 4 windows with ground truth (green) and prediction (orange) drawn, to
# TensorBoard and <work_dir>/<timestamp>/vis/.
custom_hooks = [dict(type='PoseVisualizationHook', interval=1, max_samples=4)]
