"""Switch an ``optim_wrapper`` config to mixed precision, and back to fp32 where no GPU exists."""
import copy
import logging

from mmengine.device import is_cuda_available, is_mlu_available, is_musa_available, is_npu_available
from mmengine.logging import print_log

# fp32 wrapper type -> its mixed-precision twin.
AMP_TWINS = {
    'OptimWrapper': 'AmpOptimWrapper',
    'SkipNonFiniteOptimWrapper': 'SkipNonFiniteAmpOptimWrapper',
}
AMP_DTYPES = ('float16', 'bfloat16')
_AMP_ONLY_KEYS = ('loss_scale', 'dtype', 'use_fsdp')


def _type_name(optim_wrapper: dict) -> str:
    wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
    return wrapper_type if isinstance(wrapper_type, str) else wrapper_type.__name__


def amp_device_available() -> bool:
    """Whether mmengine's ``AmpOptimWrapper`` can run here (it asserts one of these devices)."""
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def enable_amp(optim_wrapper: dict, dtype: str = 'float16') -> dict:
    """Return a copy of ``optim_wrapper`` using the mixed-precision twin of its type.

    Args:
        optim_wrapper: The ``optim_wrapper`` config (``type`` defaults to ``OptimWrapper``).
        dtype: Autocast dtype, ``'float16'`` (dynamic loss scaling) or ``'bfloat16'``.

    Returns:
        The new config; already mixed-precision configs only get ``dtype`` set.
    """
    if dtype not in AMP_DTYPES:
        raise ValueError(f'AMP dtype must be one of {AMP_DTYPES}, got {dtype!r}')
    wrapper_type = _type_name(optim_wrapper)
    amp_config = copy.deepcopy(optim_wrapper)
    if wrapper_type in AMP_TWINS:
        amp_config['type'] = AMP_TWINS[wrapper_type]
        amp_config.setdefault('loss_scale', 'dynamic')
    elif wrapper_type not in AMP_TWINS.values():
        raise ValueError(f'optim_wrapper.type={wrapper_type!r} has no mixed-precision version; '
                         f'expected one of {sorted(AMP_TWINS) + sorted(AMP_TWINS.values())}')
    amp_config['dtype'] = dtype
    return amp_config


def fall_back_to_fp32(optim_wrapper: dict) -> dict:
    """Return ``optim_wrapper`` unchanged if AMP can run here, else its fp32 twin (logged once).

    mmengine's ``AmpOptimWrapper`` asserts a GPU; on a CPU-only machine training goes on in
    float32 instead of failing.
    """
    wrapper_type = _type_name(optim_wrapper)
    fp32_twins = {amp: fp32 for fp32, amp in AMP_TWINS.items()}
    if wrapper_type not in fp32_twins or amp_device_available():
        return optim_wrapper
    print_log(f'Mixed precision ({wrapper_type}) was requested but no GPU is available: '
              f'training in float32 with {fp32_twins[wrapper_type]}.',
              logger='current', level=logging.WARNING)
    fp32_config = {k: v for k, v in optim_wrapper.items() if k not in _AMP_ONLY_KEYS}
    fp32_config['type'] = fp32_twins[wrapper_type]
    return fp32_config
