"""mmengine's private API: reached only through the adapter, and present on this mmengine."""
import ast
import configparser
import inspect
import pydoc
import textwrap
from pathlib import Path

import mmengine
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseDataPreprocessor
from mmengine.optim import OptimWrapper
from mmengine.registry import Registry
from mmengine.runner import EpochBasedTrainLoop, Runner
from mmengine.runner import checkpoint as mmengine_checkpoint
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from sparkpose.engine import mmengine_compat
from sparkpose.engine.mmengine_compat import PRIVATE_API, SUPPORTED_VERSIONS

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = Path(mmengine_compat.__file__)
INSTANCE = ' (instance)'


def _runner_instance_attributes() -> set[str]:
    """What ``Runner.__init__`` sets as ``self.name`` (a Runner built here would change
    mmengine's default scope for the tests after it)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(Runner.__init__)))
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name)
            and node.value.id == 'self'}


def _private(names) -> set[str]:
    return {n for n in names if n.startswith('_') and not n.startswith('__')}


def _attributes(tree: ast.AST) -> set[str]:
    """Names read or written as ``x.name`` in ``tree``."""
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


def test_setup_cfg_pins_the_supported_range():
    setup = configparser.ConfigParser()
    setup.read(ROOT / 'setup.cfg')
    requires = [line.strip() for line in setup['options']['install_requires'].splitlines()]
    assert f'mmengine{SUPPORTED_VERSIONS}' in requires


def test_installed_mmengine_is_supported():
    assert Version(mmengine.__version__) in SpecifierSet(SUPPORTED_VERSIONS), (
        f'mmengine {mmengine.__version__} is outside {SUPPORTED_VERSIONS}: check every name '
        'of PRIVATE_API in sparkpose/engine/mmengine_compat.py on it, then widen the range')


def test_every_private_name_the_adapter_lists_exists():
    for owner, names in PRIVATE_API.items():
        found = pydoc.locate(owner.removesuffix(INSTANCE))
        assert found is not None, owner
        if owner.endswith(INSTANCE):
            assert found is Runner
            missing = sorted(set(names) - _runner_instance_attributes())
        else:
            missing = [name for name in names if not hasattr(found, name)]
        assert not missing, f'mmengine {mmengine.__version__}: {owner} has no {missing}'


def test_the_adapter_lists_every_private_name_it_uses():
    tree = ast.parse(ADAPTER.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert _private(_attributes(tree) | imported) == set().union(*PRIVATE_API.values())


def test_no_other_module_uses_mmengine_private_names():
    """Private names of the mmengine classes sparkpose extends (read, written or overridden)
    and private imports from mmengine appear in the adapter only."""
    mmengine_private = _private(
        _runner_instance_attributes() | set(vars(BaseDataPreprocessor()))
        | set(dir(mmengine_checkpoint))
        | {name for cls in (Runner, Registry, HistoryBuffer, BaseDataPreprocessor, OptimWrapper,
                            EpochBasedTrainLoop) for name in dir(cls)})
    assert set().union(*PRIVATE_API.values()) <= mmengine_private  # the check sees them
    violations = []
    for path in sorted((ROOT / 'sparkpose').rglob('*.py')):
        if path == ADAPTER:
            continue
        tree = ast.parse(path.read_text())
        defined = {node.name for node in ast.walk(tree)
                   if isinstance(node, ast.FunctionDef | ast.ClassDef)}
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and (node.module or '').startswith('mmengine') for alias in node.names}
        used = (_attributes(tree) | defined) & mmengine_private | _private(imported)
        violations += [f'{path.relative_to(ROOT)}: {name}' for name in sorted(used)]
    assert not violations, 'use sparkpose/engine/mmengine_compat.py:\n' + '\n'.join(violations)
