"""Checkpoint I/O: safe (weights-only) loading and atomic saving."""
from .atomic_save import (
    ATOMIC_BACKEND,
    AtomicLocalBackend,
    atomic_write_bytes,
    remove_stale_temporaries,
)
from .body_model_meta import body_model_meta, use_checkpoint_body_model
from .safe_load import (
    UnsafeCheckpointError,
    find_unsafe_globals,
    load_checkpoint_safely,
    safe_checkpoint_globals,
)
from .strict_load import (
    CheckpointMismatchError,
    check_state_dict,
    checkpoint_architecture,
    describe_architecture,
)

__all__ = ['ATOMIC_BACKEND', 'AtomicLocalBackend', 'atomic_write_bytes',
           'body_model_meta', 'use_checkpoint_body_model',
           'remove_stale_temporaries', 'UnsafeCheckpointError',
           'find_unsafe_globals', 'load_checkpoint_safely', 'safe_checkpoint_globals',
           'CheckpointMismatchError', 'check_state_dict', 'checkpoint_architecture',
           'describe_architecture']
