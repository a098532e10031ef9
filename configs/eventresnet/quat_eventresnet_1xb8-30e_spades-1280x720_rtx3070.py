# The `rtx3070` recipe (8 GB): the default at batch 8 with a narrower network.
_base_ = ['./quat_eventresnet_1xb16-30e_spades-1280x720.py']

model = dict(
    backbone=dict(stage_channels=(32, 64, 128, 256), stem_channels=32),
    head=dict(in_channels=256, hidden_dim=128))
train_dataloader = dict(batch_size=8, num_workers=4)
val_dataloader = dict(batch_size=8)
test_dataloader = dict(batch_size=8)
