"""Training engine on mmengine: runner, loop, hooks, optimizer wrappers, schedulers."""
from .checkpoint import (
    ATOMIC_BACKEND,
    AtomicLocalBackend,
    CheckpointMismatchError,
    UnsafeCheckpointError,
    atomic_write_bytes,
    body_model_meta,
    check_state_dict,
    checkpoint_architecture,
    describe_architecture,
    find_unsafe_globals,
    load_checkpoint_safely,
    safe_checkpoint_globals,
    use_checkpoint_body_model,
)
from .config_checks import check_config_keys
from .data_root import point_at_body_model
from .hooks import (
    PoseVisualizationHook,
    RandomStateHook,
    StagedUnfreezeHook,
    get_random_state,
    set_random_state,
)
from .loops import SkipErrorEpochBasedTrainLoop, resolve_exception
from .optim_wrappers import (
    AMP_DTYPES,
    AllParamsOptimWrapperConstructor,
    NonFiniteLossError,
    SkipNonFiniteAmpOptimWrapper,
    SkipNonFiniteMixin,
    SkipNonFiniteOptimWrapper,
    amp_device_available,
    enable_amp,
    fall_back_to_fp32,
)
from .runner import SparkposeRunner, find_resumable_checkpoint, resume_candidates
from .schedulers import CosineAnnealingWarmRestartsLR, restart_periods
from .tool_options import add_common_arguments, apply_common_options, parse_tool_args
from .worker_seeding import seed_worker

__all__ = [
    'ATOMIC_BACKEND', 'AtomicLocalBackend', 'UnsafeCheckpointError', 'atomic_write_bytes',
    'CheckpointMismatchError', 'check_state_dict', 'checkpoint_architecture',
    'describe_architecture',
    'find_unsafe_globals', 'load_checkpoint_safely', 'safe_checkpoint_globals',
    'body_model_meta', 'use_checkpoint_body_model',
    'add_common_arguments', 'apply_common_options', 'check_config_keys', 'parse_tool_args',
    'point_at_body_model',
    'RandomStateHook', 'StagedUnfreezeHook',
    'get_random_state',
    'set_random_state', 'SkipErrorEpochBasedTrainLoop', 'resolve_exception', 'AMP_DTYPES',
    'AllParamsOptimWrapperConstructor', 'NonFiniteLossError', 'SkipNonFiniteAmpOptimWrapper',
    'SkipNonFiniteMixin', 'SkipNonFiniteOptimWrapper', 'amp_device_available', 'enable_amp',
    'fall_back_to_fp32', 'SparkposeRunner', 'find_resumable_checkpoint', 'resume_candidates',
    'CosineAnnealingWarmRestartsLR', 'restart_periods', 'seed_worker',
    'PoseVisualizationHook',
]
