"""The console start-up log is short; the log file keeps the full record."""
import io
import logging

import pytest

from sparkpose.engine.startup_log import shorten_startup_log

ENV_BLOCK = '\n' + '-' * 60 + '\nSystem environment:\n    sys.platform: linux\n'


def _logger(tmp_path, name):
    logger = logging.getLogger(f'sparkpose-test-{name}')
    logger.handlers.clear()
    logger.filters.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    console = io.StringIO()
    logger.addHandler(logging.StreamHandler(console))
    logger.addHandler(logging.FileHandler(tmp_path / 'run.log'))
    return logger, console


def _emit_setup(logger):
    logger.info(ENV_BLOCK)
    logger.info('Config:\nmodel = dict(...)')
    logger.info('Hooks will be executed in the following order:\nbefore_run: ...')
    logger.warning('"FileClient" will be deprecated in future. Please use io functions')
    logger.warning('"HardDiskBackend" is the alias of "LocalBackend" and the former will be '
                   'deprecated in future.')
    logger.info('Epoch(train) [1][1/1] loss: 1.0')


@pytest.mark.parametrize('verbose', [False, True])
def test_setup_record_goes_to_the_file_and_mmengine_self_deprecations_nowhere(tmp_path, verbose):
    logger, console = _logger(tmp_path, verbose)
    shorten_startup_log(logger, str(tmp_path / 'run.log'), verbose=verbose)
    shorten_startup_log(logger, str(tmp_path / 'run.log'), verbose=verbose)  # idempotent
    _emit_setup(logger)
    for handler in logger.handlers:
        handler.flush()
    shown, kept = console.getvalue(), (tmp_path / 'run.log').read_text()
    for text in (shown, kept):
        assert 'Epoch(train) [1][1/1]' in text
        assert 'FileClient' not in text and 'HardDiskBackend' not in text
    for marker in ('System environment', 'Config:\n', 'Hooks will be executed'):
        assert marker in kept
        assert (marker in shown) == verbose
    assert shown.count(f'full config and hook order: {tmp_path / "run.log"}') == (not verbose)
