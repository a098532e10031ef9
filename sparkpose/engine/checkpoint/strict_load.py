"""Refuse weights that do not fit the model, naming the keys and both architectures.

A checkpoint of another architecture loaded leniently leaves most of the model at its
random initialisation, and evaluating it gives plausible-looking, meaningless metrics.
Every evaluation path (``tools/test.py``, ``tools/infer.py``, resuming) loads strictly;
a partial load (fine-tuning from a backbone) has to be asked for.
"""
import ast
from collections.abc import Mapping

import torch
from torch import nn

_PARTS = ('backbone', 'neck', 'head')
_SHOWN = 3  # keys named per kind of mismatch


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's tensors do not match the model's (missing, unexpected or reshaped)."""


def describe_architecture(model_cfg: Mapping) -> str:
    """``'PoseEstimator(backbone=VoxelCNN, neck=FeatureFusion, head=KeypointHeatmapHead)'``
    from a model config (dict-like, ``type`` keys)."""
    parts = [f'{key}={model_cfg[key].get("type", "?")}' for key in _PARTS
             if isinstance(model_cfg.get(key), Mapping)]
    return f'{model_cfg.get("type", "?")}({", ".join(parts)})'


def _literal(node: ast.AST):
    """A config value from its syntax tree: constants and nested ``dict(...)``/``{...}``
    only (anything else is None); nothing is evaluated."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict':
        return {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg}
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values) if k}
    return None


def checkpoint_architecture(checkpoint: Mapping) -> str | None:
    """The architecture recorded in an mmengine checkpoint (``meta['cfg']``, the config
    text), read with :mod:`ast` so that no code from the file runs; None if absent."""
    meta = checkpoint.get('meta')
    text = meta.get('cfg') if isinstance(meta, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == 'model'):
            model = _literal(node.value)
            return describe_architecture(model) if isinstance(model, dict) else None
    return None


def check_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str,
                     config_architecture: str, checkpoint_architecture: str | None) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state_dict`` fits ``model`` exactly.

    Args:
        model: The built model.
        state_dict: The checkpoint's tensors (prefixes such as ``module.`` already removed).
        source: The checkpoint path, for the message.
        config_architecture: :func:`describe_architecture` of the config's model.
        checkpoint_architecture: :func:`checkpoint_architecture` of the file, or None.
    """
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    reshaped = [f'{key} {tuple(state_dict[key].shape)} vs {tuple(value.shape)}'
                for key, value in expected.items()
                if key in state_dict and tuple(state_dict[key].shape) != tuple(value.shape)]
    problems = [f'{len(keys)} {kind} (e.g. {", ".join(keys[:_SHOWN])})'
                for kind, keys in (('missing', missing), ('unexpected', unexpected),
                                   ('wrongly shaped, checkpoint vs model', reshaped)) if keys]
    if problems:
        raise CheckpointMismatchError(
            f'{source}: checkpoint does not fit the model: {"; ".join(problems)}. Config model '
            f'{config_architecture}, checkpoint model '
            f'{checkpoint_architecture or "not recorded"}. For a deliberate partial load '
            f'(e.g. fine-tuning from a backbone) pass --non-strict (tools/test.py) or set '
            f'load_strict=False')
