"""--amp: AmpOptimWrapper configs on a GPU, float32 with one warning on a CPU-only machine."""
import pytest
from engine_toy import (
    build_runner,
    keep_torch_determinism,  # noqa: F401  (fixture)
    toy_config,
)

from sparkpose.engine import SkipNonFiniteOptimWrapper, amp_device_available, enable_amp

FALLBACK = 'Mixed precision (SkipNonFiniteAmpOptimWrapper) was requested but no GPU'


@pytest.mark.parametrize('wrapper_type, amp_type', [
    ('OptimWrapper', 'AmpOptimWrapper'),
    ('SkipNonFiniteOptimWrapper', 'SkipNonFiniteAmpOptimWrapper'),
    ('SkipNonFiniteAmpOptimWrapper', 'SkipNonFiniteAmpOptimWrapper'),
])
def test_enable_amp_switches_to_the_mixed_precision_twin(wrapper_type, amp_type):
    cfg = dict(type=wrapper_type, optimizer=dict(type='AdamW', lr=1e-3), clip_grad=None)
    amp = enable_amp(cfg, 'bfloat16')
    assert amp == dict(type=amp_type, optimizer=dict(type='AdamW', lr=1e-3), clip_grad=None,
                       dtype='bfloat16', **({} if wrapper_type == amp_type
                                           else dict(loss_scale='dynamic')))
    assert cfg['type'] == wrapper_type  # the input is not modified


def test_enable_amp_rejects_unknown_types_and_dtypes():
    with pytest.raises(ValueError, match="optim_wrapper.type='ZeroRedundancyOptimizer'"):
        enable_amp(dict(type='ZeroRedundancyOptimizer'))
    with pytest.raises(ValueError, match='float64'):
        enable_amp(dict(type='OptimWrapper'), 'float64')


@pytest.mark.skipif(amp_device_available(), reason='tests the CPU-only fallback')
@pytest.mark.usefixtures('keep_torch_determinism')
def test_amp_without_gpu_trains_in_float32_and_says_so_once(tmp_path):
    cfg = toy_config(tmp_path, max_epochs=2)
    cfg['optim_wrapper'] = enable_amp(cfg['optim_wrapper'], 'float16')
    runner = build_runner(cfg)
    runner.train()
    assert type(runner.optim_wrapper) is SkipNonFiniteOptimWrapper
    assert runner.optim_wrapper.clip_grad_kwargs == dict(max_norm=0.5)  # the rest is kept
    assert runner.iter == 8
    log = (tmp_path / runner.timestamp / f'{runner.timestamp}.log').read_text()
    assert log.count(FALLBACK) == 1
