# SPADES / SPARK 2026 stream 2: one sample per 10 Hz label, the 100 ms of events before it,
# as a 5-bin × 2-polarity voxel grid built directly at `input_size`. Grids travel from the
# DataLoader workers as their non-zero cells (EventsToVoxelGrid(sparse=True) + pose_collate)
# and are densified on the model's device by the data preprocessor.
# No horizontal flip by default: Proba-2 has no mirror plane, so the flipped labels
# (S·R·M, S·t) would be wrong exactly in the parts that tell its attitude.
dataset_type = 'SPADESDataset'
data_root = 'data/spades/'
input_size = (256, 256)
num_bins = 5

train_pipeline = [
    dict(type='RandomPolaritySwap', prob=0.3),
    dict(type='EventsToVoxelGrid', num_bins=num_bins, input_size=input_size, sparse=True),
    dict(type='PackPoseInputs'),
]
test_pipeline = [
    dict(type='EventsToVoxelGrid', num_bins=num_bins, input_size=input_size, sparse=True),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    # Indices carry (seed, epoch): augmentations are drawn per sample, not per worker, so
    # any num_workers / persistent_workers gives the same batches and bit-identical resumes.
    sampler=dict(type='SeededSampler', shuffle=True),
    collate_fn=dict(type='sparkpose.pose_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='train.txt',
                 window_ms=100.0, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='sparkpose.pose_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, split='val.txt',
                 window_ms=100.0, pipeline=test_pipeline, test_mode=True),
)
test_dataloader = dict(val_dataloader,
                       dataset=dict(val_dataloader['dataset'], split='test.txt'))
val_evaluator = dict(type='PoseMetric')
test_evaluator = val_evaluator
