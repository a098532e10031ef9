# The `rtx4090` recipe (24 GB): batch 32, feature_dim 512, hidden 256, mixed precision
# (fp16 with dynamic loss scaling on a GPU; falls back to fp32 without one).
_base_ = ['./quat_eventresnet_1xb16-30e_spades-1280x720.py']

model = dict(
    backbone=dict(stage_channels=(64, 128, 256, 512)),
    head=dict(in_channels=512, hidden_dim=256))
optim_wrapper = dict(type='SkipNonFiniteAmpOptimWrapper', dtype='float16', loss_scale='dynamic')
train_dataloader = dict(batch_size=32, num_workers=4)
val_dataloader = dict(batch_size=32)
test_dataloader = dict(batch_size=32)
