"""Optimizer wrappers and constructors."""
from .all_params_constructor import AllParamsOptimWrapperConstructor
from .amp import AMP_DTYPES, amp_device_available, enable_amp, fall_back_to_fp32
from .skip_nonfinite_optim_wrapper import (
    NonFiniteLossError,
    SkipNonFiniteAmpOptimWrapper,
    SkipNonFiniteMixin,
    SkipNonFiniteOptimWrapper,
)

__all__ = ['AllParamsOptimWrapperConstructor', 'AMP_DTYPES', 'amp_device_available', 'enable_amp',
           'fall_back_to_fp32', 'NonFiniteLossError', 'SkipNonFiniteAmpOptimWrapper',
           'SkipNonFiniteMixin', 'SkipNonFiniteOptimWrapper']
