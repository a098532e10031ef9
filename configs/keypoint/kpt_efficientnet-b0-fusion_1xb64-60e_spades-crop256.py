# The GPU recipe for challenge teams: the CPU demo's keypoint-heatmap + PnP design at
# 4× the resolution. EfficientNet-B0 stages at strides 4–32 fused to a stride-4 map
# (64×64 heatmaps for a 256×256 crop around the target), 60 epochs, batch 64; train with
# `--amp` on a GPU. ImageNet weights help: save them to a local file and set
# `model.backbone.pretrained` (see the sota config for the one-line command); the data
# root needs `body.json` (docs/body_model.md).
_base_ = ['./kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py']

data_root = 'data/spades/'
body_model = data_root + 'body.json'
input_size = (256, 256)
max_epochs = 60
base_lr = 1e-3

model = dict(
    backbone=dict(_delete_=True, type='TimmBackbone', model_name='efficientnet_b0',
                  in_channels=10, pretrained=None, features_only=True,
                  out_indices=(1, 2, 3, 4)),
    neck=dict(in_channels=(24, 40, 112, 320), out_channels=128),
    head=dict(in_channels=128, hidden_channels=128, body_model=body_model,
              codec=dict(sigma=2.0), solver=dict(reprojection_px=8.0)),
)

# As the demo: per-window normalised input, event rate varied over a 16x range.
voxel_grid = dict(type='EventsToVoxelGrid', num_bins=5, input_size=input_size, log1p=True,
                  normalize='nonzero_mean', sparse=True)
train_pipeline = [
    dict(type='RandomEventDensity', prob=0.5, keep_fraction=(0.125, 2.0),
         noise_fraction=(0.0, 0.1)),
    dict(type='CropToTarget', shift_jitter=0.05, scale_jitter=0.1),
    dict(type='RandomPolaritySwap', prob=0.3),
    voxel_grid,
    dict(type='PackPoseInputs'),
]
test_pipeline = [
    dict(type='CropToTarget'),
    voxel_grid,
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    batch_size=64, num_workers=8, prefetch_factor=4,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=8,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=64, num_workers=8,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
val_evaluator = dict(type='PoseMetric', body_model=body_model)
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.01, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
