"""Any timm model as a backbone for N-channel voxel grids, with local RGB weights."""
from collections.abc import Mapping, Sequence
from pathlib import Path

import timm
import torch
from mmengine.logging import print_log

from sparkpose.registry import MODELS

from .base_backbone import BaseBackbone


def adapt_input_conv_weight(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Adapt an RGB first-conv weight to ``in_channels`` inputs.

    Each output filter's three RGB slices are averaged and the mean is repeated over the
    new input channels. No rescaling: the response to an input whose channels are all equal
    to ``v`` becomes ``in_channels/3`` times the RGB one; the BN after the conv absorbs
    the scale.

    Args:
        weight: ``(C_out, 3, kh, kw)`` weight.
        in_channels: Number of input channels of the new conv.

    Returns:
        ``(C_out, in_channels, kh, kw)`` weight.
    """
    return weight.mean(dim=1, keepdim=True).repeat(1, in_channels, 1, 1)


def _read_state_dict(path: str) -> dict[str, torch.Tensor]:
    """Read a state dict from a local file without executing code from it."""
    if not Path(path).is_file():
        raise FileNotFoundError(f'TimmBackbone: pretrained={path!r} is not a file (weights are '
                                f'only read from local files, never downloaded)')
    state = torch.load(path, map_location='cpu', weights_only=True)
    # Accept bare state dicts and the usual wrappers ({'state_dict': ...}, {'model': ...}).
    for key in ('state_dict', 'model'):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping):
        raise ValueError(f'TimmBackbone: {path} holds a {type(state).__name__}, expected a '
                         f'state dict')
    return dict(state)


@MODELS.register_module()
class TimmBackbone(BaseBackbone):
    """A ``timm`` model (``efficientnet_b0`` by default) taking ``in_channels`` inputs.

    timm is always asked for ``pretrained=False`` (it never touches the network). ImageNet
    weights come only from the local file ``pretrained``: every tensor is copied as is,
    except the RGB input conv, which ``adapt_input_conv_weight`` averages and repeats over
    ``in_channels``. The file is read with ``torch.load(weights_only=True)``.

    Args:
        model_name: Any ``timm.create_model`` name.
        in_channels: Channels of the voxel grid.
        pretrained: Path of a local checkpoint of the same architecture with 3 input
            channels (a timm state dict, possibly under ``'state_dict'`` or ``'model'``).
        features_only: ``False``: return the final map of ``forward_features`` (for
            efficientnet_b0, 1280 channels after ``conv_head``). ``True``: return the
            stage maps chosen by ``out_indices``.
        out_indices: Stages to return when ``features_only`` (timm's numbering).
        **kwargs: Passed to ``timm.create_model`` (e.g. ``drop_path_rate``).

    Returns (forward):
        A tuple of ``(B, C_i, H_i, W_i)`` feature maps, deepest last.
    """

    def __init__(self, model_name: str = 'efficientnet_b0', in_channels: int = 10,
                 pretrained: str | None = None, features_only: bool = False,
                 out_indices: Sequence[int] | None = None, **kwargs) -> None:
        super().__init__()
        if out_indices is not None and not features_only:
            raise ValueError('TimmBackbone: out_indices needs features_only=True')
        if features_only:
            kwargs = dict(kwargs, features_only=True)
            if out_indices is not None:
                kwargs['out_indices'] = tuple(out_indices)
        else:
            kwargs = dict(kwargs, num_classes=0, global_pool='')
        self.model_name = model_name
        self.features_only = features_only
        self.model = timm.create_model(model_name, pretrained=False, in_chans=in_channels,
                                       **kwargs)
        self._out_channels = (tuple(self.model.feature_info.channels()) if features_only
                              else (self.model.num_features,))
        if pretrained is not None:
            self.load_rgb_weights(pretrained)

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Widths of the returned feature maps."""
        return self._out_channels

    def load_rgb_weights(self, path: str) -> None:
        """Load a 3-channel checkpoint, adapting the input conv to this model's channels.

        Args:
            path: Local checkpoint file.

        Raises:
            ValueError: A tensor of the model is missing from the file or has a shape that
                cannot be adapted.
        """
        source = _read_state_dict(path)
        target = self.model.state_dict()
        missing = [key for key in target if key not in source]
        if missing:
            raise ValueError(f'TimmBackbone: {path} lacks {len(missing)} tensors of '
                             f'{self.model_name!r}, e.g. {missing[:3]}; is it a checkpoint of '
                             f'this architecture?')
        adapted, state = [], {}
        for key, own in target.items():
            weight = source[key]
            if weight.shape != own.shape:
                if not (weight.ndim == 4 and weight.shape[1] == 3
                        and weight.shape[0] == own.shape[0] and weight.shape[2:] == own.shape[2:]):
                    raise ValueError(f'TimmBackbone: {path}: {key} has shape '
                                     f'{tuple(weight.shape)}, the model expects {tuple(own.shape)}')
                weight = adapt_input_conv_weight(weight, own.shape[1])
                adapted.append(key)
            state[key] = weight
        self.model.load_state_dict(state)
        ignored = sorted(set(source) - set(target))
        print_log(f'TimmBackbone: loaded {len(state)} tensors from {path}; input conv adapted '
                  f'from 3 channels by averaging: {adapted or "none"}; ignored: '
                  f'{ignored or "none"}', logger='current')

    def init_weights(self) -> None:
        """Keep timm's initialisation and the loaded weights.

        The Runner calls ``init_weights()`` on the whole model; BaseModule would pass it on
        to timm modules that define their own ``init_weights`` and re-initialise them.
        """

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(B, in_channels, H, W)`` → tuple of feature maps."""
        if self.features_only:
            return tuple(self.model(x))
        return (self.model.forward_features(x),)
