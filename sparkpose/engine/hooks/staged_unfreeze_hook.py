"""Staged fine-tuning: keep a sub-module (the backbone) frozen for the first epochs."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DistributedDataParallel

from sparkpose.registry import HOOKS


@HOOKS.register_module()
class StagedUnfreezeHook(Hook):
    """Freeze ``model.<module>`` during epochs ``[0, frozen_epochs)``, train it afterwards.

    The state is a function of the epoch, set in ``before_train_epoch``: a resumed run
    freezes or unfreezes exactly as the uninterrupted one. The module must provide
    ``freeze()`` / ``unfreeze()`` (sparkpose backbones do). While frozen, its BatchNorm layers
    are put back in eval mode before every iteration, because ``run_epoch`` calls
    ``model.train()`` after the ``before_train_epoch`` hooks.

    Requirements, checked in ``before_train``:

    - every parameter of the module is in the optimizer. Use
      ``optim_wrapper.constructor='AllParamsOptimWrapperConstructor'``: with ``paramwise_cfg``
      (e.g. ``custom_keys={'backbone': dict(lr_mult=0.1)}``) mmengine's default constructor
      drops parameters that are frozen when the optimizer is built.
    - under DDP, ``find_unused_parameters=True`` (top-level config key, or in
      ``model_wrapper_cfg``): frozen parameters get no gradient, which plain DDP reports as
      an error. The module must not be frozen when the model is wrapped, or DDP would never
      synchronise its gradients after unfreezing.

    Args:
        frozen_epochs: Number of epochs (from the first) with the module frozen; 0 never
            freezes.
        module: Attribute path of the module in the unwrapped model, e.g. ``'backbone'``.
    """

    priority = 'NORMAL'

    def __init__(self, frozen_epochs: int = 5, module: str = 'backbone') -> None:
        if frozen_epochs < 0:
            raise ValueError(f'StagedUnfreezeHook: frozen_epochs must be >= 0, got {frozen_epochs}')
        self.frozen_epochs = frozen_epochs
        self.module_path = module
        self._frozen: bool | None = None
        self._norm_layers: list[nn.Module] = []

    def _module(self, runner) -> nn.Module:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        module = model
        for name in self.module_path.split('.'):
            if not hasattr(module, name):
                raise AttributeError(f'StagedUnfreezeHook: {type(model).__name__} has no '
                                     f'sub-module {self.module_path!r}')
            module = getattr(module, name)
        for method in ('freeze', 'unfreeze'):
            if not callable(getattr(module, method, None)):
                raise TypeError(f'StagedUnfreezeHook: model.{self.module_path} '
                                f'({type(module).__name__}) has no {method}() method')
        return module

    def before_train(self, runner) -> None:
        """Check the optimizer holds the module's parameters, and DDP's settings."""
        module = self._module(runner)
        self._norm_layers = [m for m in module.modules() if isinstance(m, _BatchNorm)]
        wrappers = (runner.optim_wrapper.values()
                    if isinstance(runner.optim_wrapper, OptimWrapperDict)
                    else [runner.optim_wrapper])
        in_optimizer = {id(param) for wrapper in wrappers
                        for group in wrapper.optimizer.param_groups for param in group['params']}
        missing = [name for name, param in module.named_parameters()
                   if id(param) not in in_optimizer]
        if missing:
            raise RuntimeError(
                f'StagedUnfreezeHook: {len(missing)} parameters of model.{self.module_path} '
                f'(e.g. {missing[0]!r}) are not in the optimizer, so they would never train '
                'after unfreezing. Set '
                "optim_wrapper.constructor='AllParamsOptimWrapperConstructor'.")
        if (self.frozen_epochs > 0 and isinstance(runner.model, DistributedDataParallel)
                and not runner.model.find_unused_parameters):
            raise RuntimeError(
                'StagedUnfreezeHook: under DDP a frozen module needs find_unused_parameters=True; '
                "set `find_unused_parameters = True` or model_wrapper_cfg=dict("
                "type='MMDistributedDataParallel', find_unused_parameters=True) in the config.")

    def before_train_epoch(self, runner) -> None:
        """Freeze or unfreeze according to the epoch about to run."""
        frozen = runner.epoch < self.frozen_epochs
        if frozen == self._frozen:
            return
        module = self._module(runner)
        if frozen:
            module.freeze()
            runner.logger.info(f'model.{self.module_path} frozen until epoch '
                               f'{self.frozen_epochs + 1}')
        else:
            module.unfreeze()
            runner.logger.info(f'model.{self.module_path} unfrozen at epoch {runner.epoch + 1}')
        self._frozen = frozen

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Hold the frozen module's BatchNorm statistics (``model.train()`` resets them)."""
        if self._frozen:
            for layer in self._norm_layers:
                layer.eval()
