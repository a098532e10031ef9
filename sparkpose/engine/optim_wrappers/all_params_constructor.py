"""Optimizer-wrapper constructor that puts every parameter in the optimizer, frozen or not."""
import torch
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

from sparkpose.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class AllParamsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """:class:`~mmengine.optim.DefaultOptimWrapperConstructor` that keeps frozen parameters.

    With ``paramwise_cfg`` mmengine leaves out every parameter whose ``requires_grad`` is
    False when the optimizer is built, so a backbone frozen at that moment would never train
    after being unfrozen. Here all parameters get their param group (``custom_keys`` such as
    ``{'backbone': dict(lr_mult=0.1)}`` apply as usual), whatever their flag at build time.
    Frozen parameters cost nothing: they get no gradient, and PyTorch optimizers skip
    parameters whose ``grad`` is None (no update, no weight decay, no state).
    """

    def __call__(self, model: torch.nn.Module) -> OptimWrapper:
        """Build the optimizer wrapper with all of ``model``'s parameters."""
        params = list(model.parameters())
        flags = [param.requires_grad for param in params]
        try:
            for param in params:
                param.requires_grad_(True)
            return super().__call__(model)
        finally:
            for param, flag in zip(params, flags):
                param.requires_grad_(flag)
