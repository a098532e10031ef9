default_scope = 'sparkpose'
# Safe (weights-only, allow-listed) checkpoint loading, atomic saves, AMP that falls back
# to fp32 without a GPU.
runner_type = 'SparkposeRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # `latest` every epoch (save_last + last_checkpoint), the best by SPEED score, and a
    # bounded number of older epochs.
    checkpoint=dict(type='CheckpointHook', interval=1, save_last=True, max_keep_ckpts=3,
                    save_best='pose/speed_mean', rule='less'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Python/numpy/torch RNG states in every checkpoint: resumed runs are bit-identical.
    random_state=dict(type='RandomStateHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
# No fixed `name`: mmengine keeps one Visualizer per name and process, so a second run in
# the same process would write into the first one's folder.
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'

load_from = None
resume = False
randomness = dict(seed=0)
