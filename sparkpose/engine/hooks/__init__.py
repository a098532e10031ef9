"""Training hooks."""
from .pose_visualization_hook import PoseVisualizationHook
from .random_state_hook import RandomStateHook, get_random_state, set_random_state
from .staged_unfreeze_hook import StagedUnfreezeHook

__all__ = ['PoseVisualizationHook', 'RandomStateHook', 'get_random_state', 'set_random_state',
           'StagedUnfreezeHook']
