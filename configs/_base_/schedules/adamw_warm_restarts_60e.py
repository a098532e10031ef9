# The original SOTA schedule: AdamW lr 3e-4, cosine annealing with warm restarts, clip 0.5.
_base_ = ['./adamw_cosine_30e.py']
max_epochs = 60
base_lr = 3e-4

optim_wrapper = dict(optimizer=dict(lr=base_lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingWarmRestartsLR', T_0=10, T_mult=2, eta_min_ratio=0.01,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
