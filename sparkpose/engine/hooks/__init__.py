"""Training hooks."""
from .random_state_hook import RandomStateHook, get_random_state, set_random_state
from .staged_unfreeze_hook import StagedUnfreezeHook

__all__ = ['RandomStateHook', 'get_random_state', 'set_random_state', 'StagedUnfreezeHook']
