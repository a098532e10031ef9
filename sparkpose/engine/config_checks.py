"""Catch misspelt config keys, which mmengine would otherwise ignore silently."""
import difflib
import inspect
from collections.abc import Iterable, Mapping

from mmengine.config import Config
from mmengine.runner import Runner

# Top-level keys read by mmengine outside Runner.__init__'s arguments.
_EXTRA_RUNNER_KEYS = ('runner_type', 'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn',
                      'compile', 'activation_checkpointing', 'efficient_conv_bn_eval',
                      'custom_imports', 'gpu_ids', 'launcher', 'strategy',
                      'load_strict')  # SparkposeRunner: strict load_from
RUNNER_KEYS = frozenset(
    [name for name in inspect.signature(Runner.__init__).parameters if name not in ('self', 'cfg')]
    + list(_EXTRA_RUNNER_KEYS))


def _near_miss(key: str, known: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(key, list(known), n=1, cutoff=0.8)
    return matches[0] if matches else None


def check_config_keys(cfg: Mapping | Config, option_keys: Iterable[str] = ()) -> None:
    """Raise if a key looks like a typo of a key the runner (or the config) knows.

    Unknown top-level keys are fine (configs define helpers such as ``codec`` or
    ``train_pipeline``) unless they are a near miss of a runner key (``optim_wraper``).
    An override (``--cfg-options a.b.c=...``) that adds a key next to a near-identical
    existing one (``train_cfg.max_epoch`` beside ``max_epochs``) is refused as well.

    Call it before merging the overrides into ``cfg``.

    Args:
        cfg: The config as read from its file.
        option_keys: Dotted keys given with ``--cfg-options``.

    Raises:
        KeyError: Naming the key and the key it was probably meant to be.
    """
    for key in {*cfg, *(dotted.split('.')[0] for dotted in option_keys)}:
        if key not in RUNNER_KEYS and (guess := _near_miss(key, RUNNER_KEYS)):
            raise KeyError(f'config key {key!r} is unknown; did you mean {guess!r}?')
    root = cfg if isinstance(cfg, Mapping) else dict(cfg.items())  # mmengine Config
    for dotted in option_keys:
        node = root
        parts = dotted.split('.')
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node, Mapping) or part not in node:
                break
            node = node[part]
            leaf = parts[depth + 1]
            if (isinstance(node, Mapping) and leaf not in node
                    and (guess := _near_miss(leaf, node))):
                where = '.'.join(parts[:depth + 1])
                raise KeyError(f'--cfg-options {dotted}: {where} has no key {leaf!r}; '
                               f'did you mean {where}.{guess}?')


def check_batch_sizes(cfg: Mapping | Config) -> None:
    """Raise naming the key if a dataloader's ``batch_size`` is not a positive integer.

    torch's own message (``batch_size should be a positive integer value``) names no key.
    """
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        size = (cfg.get(loader) or {}).get('batch_size')
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                                 or size < 1):
            raise ValueError(f'{loader}.batch_size={size!r}: must be a positive integer')
