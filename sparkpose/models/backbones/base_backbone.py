"""Backbone base class: the freeze/unfreeze contract every backbone shares."""
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm


class BaseBackbone(BaseModule):
    """A backbone that can be frozen (staged fine-tuning) and unfrozen again.

    Output convention of every sparkpose backbone: ``forward(x)`` with ``x`` of shape
    ``(B, C_in, H, W)`` returns a **tuple of feature maps** ``(B, C_i, H_i, W_i)`` (one per
    requested stage, deepest last); ``out_channels`` lists their widths. Pooling belongs to
    the neck (``GlobalAveragePooling``), as in mmpose / mmpretrain.

    ``freeze()`` stops gradients into every parameter **and** keeps BatchNorm layers in eval
    mode (running statistics frozen) even when ``train()`` is called later: mmengine's
    ``run_epoch`` calls ``model.train()`` after the ``before_train_epoch`` hooks, which would
    otherwise put the frozen statistics back into training. ``unfreeze()`` restores both.
    """

    def __init__(self, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        self._frozen = False
        self._requires_grad: dict[str, bool] = {}

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Channel widths of the returned feature maps, in output order."""
        raise NotImplementedError(f'{type(self).__name__} does not declare out_channels')

    @property
    def frozen(self) -> bool:
        """Whether ``freeze()`` is in effect."""
        return self._frozen

    def freeze(self) -> None:
        """Stop gradients into all parameters and hold BatchNorm statistics fixed."""
        if not self._frozen:
            # Remember the flags so unfreeze() restores parameters frozen by the user too.
            self._requires_grad = {name: p.requires_grad for name, p in self.named_parameters()}
        for param in self.parameters():
            param.requires_grad = False
        self._frozen = True
        self.train(self.training)

    def unfreeze(self) -> None:
        """Undo ``freeze()``: restore ``requires_grad`` flags and BatchNorm train mode."""
        for name, param in self.named_parameters():
            param.requires_grad = self._requires_grad.get(name, True)
        self._frozen = False
        self._requires_grad = {}
        self.train(self.training)

    def train(self, mode: bool = True) -> 'BaseBackbone':
        """Set train/eval mode; BatchNorm layers stay in eval mode while frozen."""
        super().train(mode)
        if mode and self._frozen:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
