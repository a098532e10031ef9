"""Point a whole config at one data folder, and refuse overrides that nothing would read.

A config names its data folder once (``data_root = 'data/demo/'``) and derives the
dataloaders' ``data_root`` and every ``body_model`` path from it *while the file is read*.
Overriding the top-level name afterwards (``--cfg-options data_root=...``) therefore changes
nothing, silently. ``--data-root DIR`` rewrites every place that was derived instead, and
:func:`refuse_unread_overrides` turns the silent no-op into an error naming those places.
"""
import os.path as osp
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mmengine.config import Config

from .config_checks import RUNNER_KEYS

BODY_MODEL_FILE = 'body.json'


def _walk(node: Any, prefix: str) -> Iterator[tuple[str, Any, Any]]:
    """Yield ``(dotted path, parent, key)`` for every entry below ``node``."""
    items = (node.items() if isinstance(node, Mapping)
             else enumerate(node) if isinstance(node, list | tuple) else ())
    for key, value in items:
        path = f'{prefix}.{key}' if prefix else str(key)
        yield path, node, key
        yield from _walk(value, path)


def _read_entries(cfg: Config) -> Iterator[tuple[str, Any, Any]]:
    """Entries under the top-level keys the runner reads (helpers such as ``codec`` skipped)."""
    for key in list(cfg.keys()):  # the config's order, so messages read the same each run
        if key in RUNNER_KEYS:
            yield from _walk(cfg[key], key)


def point_at_data_root(cfg: Config, data_root: str) -> list[str]:
    """Make every dataset and every body-model path of ``cfg`` use ``data_root``.

    Every ``data_root`` entry becomes ``data_root``; every ``body_model`` given as a path
    becomes ``<data_root>/body.json`` (the body model that describes that data).

    Returns:
        The dotted keys changed.

    Raises:
        FileNotFoundError: The config names a body model and ``data_root`` has none.
    """
    data_root = osp.join(data_root, '')
    changed = []
    for path, parent, key in list(_read_entries(cfg)):
        if key == 'data_root':
            parent[key] = data_root
            changed.append(path)
    if 'data_root' in cfg:  # the helper name too, so the dumped config tells the truth
        cfg['data_root'] = data_root
    return changed + point_at_body_model(cfg, osp.join(data_root, BODY_MODEL_FILE),
                                         f'--data-root {data_root}')


def point_at_body_model(cfg: Config, body: str, option: str = '--body-model') -> list[str]:
    """Make every body-model path of ``cfg`` (head, metrics, hooks) ``body``.

    Args:
        cfg: The config, changed in place.
        body: The ``body.json`` to use.
        option: The command-line option that asked, for the error message.

    Returns:
        The dotted keys changed.

    Raises:
        FileNotFoundError: The config names a body model and ``body`` does not exist.
    """
    changed = []
    for path, parent, key in list(_read_entries(cfg)):
        if key == 'body_model' and isinstance(parent[key], str):
            parent[key] = body
            changed.append(path)
    if changed and not osp.isfile(body):
        raise FileNotFoundError(f'{option}: no {body}, which the config needs for '
                                f'{", ".join(changed)}')
    if 'body_model' in cfg:
        cfg['body_model'] = body
    return changed


def refuse_unread_overrides(cfg: Config, option_keys: Iterable[str]) -> None:
    """Raise if an override targets a helper name that nothing reads after parsing.

    Top-level names outside the runner's keys (``data_root``, ``body_model``,
    ``input_size``, ``train_pipeline``...) were copied into the runner's keys when the
    config file was read; changing them later has no effect.

    Raises:
        KeyError: Naming the override and the keys that hold the copied value.
    """
    for dotted in option_keys:
        top = dotted.split('.')[0]
        if top in RUNNER_KEYS or top not in cfg:
            continue
        value = cfg[top]
        copies = [path for path, parent, key in _read_entries(cfg) if parent[key] == value]
        hint = (f'set {", ".join(copies)} instead' if copies
                else 'set the keys that use it instead')
        if top in ('data_root', 'body_model'):
            hint += ', or use --data-root DIR'
        raise KeyError(f'--cfg-options {dotted}: {top!r} is only a name inside the config '
                       f'file and is not read after the file is parsed; {hint}')
