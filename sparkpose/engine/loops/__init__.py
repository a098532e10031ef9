"""Training loops."""
from .skip_error_train_loop import SkipErrorEpochBasedTrainLoop, resolve_exception

__all__ = ['SkipErrorEpochBasedTrainLoop', 'resolve_exception']
