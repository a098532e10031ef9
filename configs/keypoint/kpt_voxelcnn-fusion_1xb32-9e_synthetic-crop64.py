# The CPU demo (`make demo`): body keypoints as heatmaps on a 64×64 object-centric crop,
# pose by PnP. Data: many short, fast-tumbling trajectories at 320×180, and in full_sensor/
# short trajectories on SPADES' terms (1280×720, 2.5-10 °/s; see Makefile). The input is
# normalised per window and the event rate augmented, so the model holds across sensor
# sizes and event rates (README, "Robustness").
#
# What the bases provide, as resolved (tests/test_configs/test_demo_config.py holds every
# `key = value` line below to the resolved config):
#   _base_/default_runtime.py: scope, runner, hooks, seed
#     default_scope = 'sparkpose'
#     runner_type = 'SparkposeRunner'
#     default_hooks.timer.type = 'IterTimerHook'
#     default_hooks.param_scheduler.type = 'ParamSchedulerHook'
#     default_hooks.checkpoint.save_best = 'pose/speed_mean'
#     default_hooks.checkpoint.max_keep_ckpts = 3
#     default_hooks.sampler_seed.type = 'DistSamplerSeedHook'
#     default_hooks.random_state.type = 'RandomStateHook'
#     randomness.seed = 0
#   _base_/datasets/spades_voxel.py: dataset, samplers, collate function
#     train_dataloader.dataset.type = 'SPADESDataset'
#     train_dataloader.dataset.window_ms = 100.0
#     train_dataloader.sampler.type = 'SeededSampler'
#     train_dataloader.collate_fn.type = 'sparkpose.pose_collate'
#     train_dataloader.persistent_workers = True
#     val_dataloader.sampler.type = 'DefaultSampler'
#     val_dataloader.collate_fn.type = 'sparkpose.pose_collate'
#     test_dataloader.dataset.split = 'test.txt'
#   _base_/schedules/adamw_cosine_30e.py: loops, optimizer wrapper
#     train_cfg.type = 'SkipErrorEpochBasedTrainLoop'
#     train_cfg.skip_exceptions = ['OutOfMemoryError']
#     val_cfg.type = 'ValLoop'
#     test_cfg.type = 'TestLoop'
#     optim_wrapper.type = 'SkipNonFiniteOptimWrapper'
#     optim_wrapper.constructor = 'AllParamsOptimWrapperConstructor'
#     optim_wrapper.optimizer.type = 'AdamW'
#     optim_wrapper.optimizer.weight_decay = 0.0001
# Set here: data_root, body_model, input_size, max_epochs, base_lr, model, voxel_grid,
# train_pipeline, test_pipeline, train_dataloader, val_dataloader, test_dataloader,
# val_evaluator, test_evaluator, optim_wrapper, param_scheduler, train_cfg, default_hooks,
# custom_hooks. A dict set here merges into the base's key by key; a list replaces it.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/spades_voxel.py',
    '../_base_/schedules/adamw_cosine_30e.py',
]

data_root = 'data/demo/'
body_model = data_root + 'body.json'
input_size = (64, 64)
max_epochs = 9
base_lr = 2e-3

model = dict(
    type='PoseEstimator',
    channels_last=True,
    backbone=dict(type='VoxelCNN', in_channels=10, channels=(32, 64, 96, 128, 128),
                  out_indices=(1, 2, 3, 4)),
    neck=dict(type='FeatureFusion', in_channels=(64, 96, 128, 128), out_channels=64),
    head=dict(type='KeypointHeatmapHead', in_channels=64, body_model=body_model,
              hidden_channels=64,
              codec=dict(type='GaussianHeatmap', sigma=1.0),
              solver=dict(type='RansacPnPSolver', min_confidence=0.2, min_keypoints=6,
                          reprojection_px=3.0),
              loss_heatmap=dict(type='HeatmapCrossEntropyLoss', loss_weight=1.0),
              loss_keypoint=dict(type='SoftArgmaxL1Loss', loss_weight=0.1)),
)

# No horizontal flip: the body has no mirror plane, so flipped labels would be wrong.
# The event rate varies over a 16x range (thinned to 1/8 or duplicated up to 2x, uniform
# noise of up to a tenth on top), as sensors and contrast thresholds do.
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
# 2,432 training files: keep every HDF5 handle open (with the default LRU of 320 the worker
# reopens files; docs/performance.md).
train_dataloader = dict(
    batch_size=32, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline, max_open_files=3072))
val_dataloader = dict(
    batch_size=64, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=64, num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
val_evaluator = dict(type='PoseMetric', body_model=body_model)
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=base_lr), clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.01, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(logger=dict(interval=50))
# Every validation: 4 crops with ground truth (green) and prediction (orange) drawn, to
# TensorBoard and <work_dir>/<timestamp>/vis/; `tools/test.py --show-dir` draws the test set.
custom_hooks = [dict(type='PoseVisualizationHook', interval=1, max_samples=4,
                     body_model=body_model)]
