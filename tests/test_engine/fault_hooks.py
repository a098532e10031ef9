"""A hook that SIGKILLs the training process at a chosen iteration (fault-injection tests).

``tools/train.py`` imports it through ``custom_imports`` with ``tests/test_engine`` on
``PYTHONPATH``.
"""
import os
import signal

from mmengine.hooks import Hook

from sparkpose.registry import HOOKS


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """``kill -9`` the process after iteration ``iteration`` (0-based) of epoch ``epoch``."""

    def __init__(self, epoch: int, iteration: int) -> None:
        self.epoch, self.iteration = epoch, iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.epoch == self.epoch and batch_idx == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)
