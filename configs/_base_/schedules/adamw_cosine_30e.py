# AdamW + linear warm-up + cosine annealing, gradient clipping at 0.5; non-finite losses are
# skipped before backward() and batches that run out of GPU memory are skipped.
max_epochs = 30
base_lr = 3e-4

optim_wrapper = dict(
    type='SkipNonFiniteOptimWrapper',  # --amp switches to SkipNonFiniteAmpOptimWrapper
    constructor='AllParamsOptimWrapperConstructor',  # frozen parameters stay in the optimizer
    optimizer=dict(type='AdamW', lr=base_lr, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.5),
    max_consecutive_nonfinite=10,
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    # eta_min_ratio, not an absolute eta_min: it keeps per-group lr multipliers intact.
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=0.01, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='SkipErrorEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1,
                 skip_exceptions=['OutOfMemoryError'], max_consecutive_skips=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
