"""Point a config at a data folder in one step, and refuse overrides that would do nothing.

A config computes ``data_root``, ``body_model`` or ``input_size`` once, while its file is
read (``body_model = data_root + 'body.json'``), and copies the values into the dataloaders,
the head, the metrics and the hooks. Overriding the top-level name afterwards
(``--cfg-options data_root=...``) changes nothing that is read, and a run on the wrong data
would exit 0; :func:`check_parse_time_overrides` refuses it, naming the keys to set
instead, and :func:`point_at_data_root` (``--data-root DIR``) sets them all.
"""
import os.path as osp
from collections.abc import Iterable, Iterator, Mapping

from mmengine.config import Config

from .config_checks import RUNNER_KEYS

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
BODY_FILE = 'body.json'


def _paths_of(node: object, key: str, prefix: str = '') -> Iterator[str]:
    """Dotted paths of every ``key`` inside ``node`` (dicts and lists, depth first)."""
    if isinstance(node, Mapping):
        for name, value in node.items():
            path = f'{prefix}.{name}' if prefix else str(name)
            if name == key:
                yield path
            yield from _paths_of(value, key, path)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _paths_of(value, key, f'{prefix}.{i}' if prefix else str(i))


def _set(node: object, key: str, value: object) -> None:
    """Set every ``key`` inside ``node`` to ``value``."""
    if isinstance(node, Mapping):
        for name in list(node):
            if name == key:
                node[name] = value
            else:
                _set(node[name], key, value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _set(item, key, value)


def point_at_data_root(cfg: Config, data_root: str) -> list[str]:
    """Point every dataset of ``cfg`` at ``data_root`` and, when ``data_root/body.json``
    exists, every ``body_model`` key (head, losses, metrics, hooks) at it.

    Returns:
        The dotted keys that were set.

    Raises:
        FileNotFoundError: ``data_root`` is not a folder.
    """
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'--data-root {data_root}: no such folder')
    folder = osp.join(data_root, '')
    changed = []
    for loader in DATALOADERS:
        if cfg.get(loader):
            changed += [f'{loader}.{p}' for p in _paths_of(cfg[loader], 'data_root')]
            _set(cfg[loader], 'data_root', folder)
    body = osp.join(folder, BODY_FILE)
    if osp.isfile(body):
        for name in list(cfg.keys()):
            if name in RUNNER_KEYS:
                changed += [f'{name}.{p}' for p in _paths_of(cfg[name], 'body_model')]
                _set(cfg[name], 'body_model', body)
    return changed


def check_parse_time_overrides(cfg: Config, option_keys: Iterable[str]) -> None:
    """Refuse ``--cfg-options`` on top-level names that nothing reads after parsing.

    Raises:
        KeyError: Naming the override and the keys that hold the value instead.
    """
    for dotted in option_keys:
        name = dotted.split('.')[0]
        if name in RUNNER_KEYS or name not in cfg:
            continue
        leaf = dotted.split('.')[-1]
        used = [f'{top}.{p}' for top in cfg.keys() if top in RUNNER_KEYS
                for p in _paths_of(cfg[top], leaf)]
        hint = (' or pass --data-root DIR, which sets them all'
                if leaf in ('data_root', 'body_model') else '')
        raise KeyError(
            f'--cfg-options {dotted}: {name!r} is only read while the config file is parsed, '
            f'so overriding it would change nothing; set the keys that use it instead'
            f'{": " + ", ".join(used[:8]) if used else ""}'
            f'{" ..." if len(used) > 8 else ""}{hint}')
