"""The body model a model was trained with, carried in its checkpoint's ``meta``.

As mmpose keeps ``dataset_meta`` in the checkpoint, sparkpose keeps the training
``body.json`` (its plain JSON content, which the weights-only loader accepts) under
``meta['body_model']``. Testing and inference then need no ``body.json`` beside the test
files and cannot pick a different one by accident: :func:`use_checkpoint_body_model`
points every ``body_model`` of the config at a copy of the checkpoint's.
"""
import hashlib
import json
import os.path as osp
import tempfile
from collections.abc import Iterator, MutableMapping
from typing import Any

from .atomic_save import atomic_write_bytes

META_KEY = 'body_model'


def _body_model_entries(node: Any) -> Iterator[tuple[MutableMapping, str]]:
    """Every ``(parent, 'body_model')`` whose value is a path, anywhere below ``node``."""
    items = (node.items() if isinstance(node, MutableMapping)
             else enumerate(node) if isinstance(node, list | tuple) else ())
    for key, value in list(items):
        if key == META_KEY and isinstance(value, str):
            yield node, key
        yield from _body_model_entries(value)


def body_model_meta(model_cfg: Any) -> dict:
    """``{'body_model': <JSON content>}`` of the model's body model, or ``{}`` if it has none."""
    for parent, key in _body_model_entries(model_cfg):
        with open(parent[key]) as f:
            return {META_KEY: json.load(f)}
    return {}


def use_checkpoint_body_model(cfg: MutableMapping, checkpoint: Any) -> str | None:
    """Point every ``body_model`` path of ``cfg`` at the body model stored in ``checkpoint``.

    Args:
        cfg: The config (model, evaluators, hooks), changed in place.
        checkpoint: A loaded checkpoint dict.

    Returns:
        The path of the body model now used, or ``None`` when the checkpoint carries none
        (an older checkpoint: the config's paths stay).
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    body = (meta or {}).get(META_KEY)
    if body is None:
        return None
    data = json.dumps(body).encode()  # key order kept: it is the keypoint order
    path = osp.join(tempfile.gettempdir(),
                    f'sparkpose_body_{hashlib.sha1(data).hexdigest()[:16]}.json')
    if not osp.isfile(path):
        atomic_write_bytes(data, path)
    for name in list(cfg.keys()):
        if name == META_KEY:  # a config's own helper name, so a dump tells the truth
            cfg[name] = path
        for parent, key in _body_model_entries(cfg[name]):
            parent[key] = path
    return path
