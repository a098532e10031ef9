"""No module of sparkpose imports from a layer above its own (docs/design.md, "Layers")."""
import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'sparkpose'
DESIGN = Path(__file__).resolve().parents[1] / 'docs' / 'design.md'


def documented_layers() -> dict[str, int]:
    """``{subpackage: layer}`` from the table in docs/design.md (rows ``| 0 | `x`, `y` |``)."""
    layers = {}
    for level, names in re.findall(r'^\|\s*(\d+)\s*\|([^|]+)\|', DESIGN.read_text(), re.M):
        for name in re.findall(r'`(\w+)`', names):
            layers[name] = int(level)
    return layers


def imported_subpackages(path: Path) -> set[str]:
    """The top-level sparkpose subpackages (or modules) that ``path`` imports, anywhere in it."""
    module = path.relative_to(PACKAGE.parent).with_suffix('').parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module[:len(module) - node.level]
                targets = ['.'.join(base + ((node.module,) if node.module else ()))]
            else:
                targets = [node.module or '']
        else:
            continue
        for target in targets:
            parts = target.split('.')
            if parts[0] == 'sparkpose' and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_subpackage_has_a_documented_layer():
    layers = documented_layers()
    subpackages = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
                   if (p.suffix == '.py' and p.stem != '__init__')
                   or (p / '__init__.py').is_file()}
    assert subpackages - set(layers) == set(), 'add them to the table in docs/design.md'
    assert set(layers) - subpackages == set(), 'the table names modules that do not exist'


def test_no_module_imports_a_higher_layer():
    layers = documented_layers()
    violations = []
    for path in sorted(PACKAGE.rglob('*.py')):
        own = path.relative_to(PACKAGE).parts[0].removesuffix('.py')
        if own == '__init__':  # the package root holds only the version
            continue
        for imported in imported_subpackages(path) - {own}:
            if layers[imported] >= layers[own]:
                violations.append(f'{path.relative_to(PACKAGE.parent)} (layer {layers[own]}) '
                                  f'imports sparkpose.{imported} (layer {layers[imported]})')
    assert not violations, '\n'.join(violations)


def test_the_check_sees_relative_and_absolute_imports():
    source = PACKAGE / 'models' / 'heads' / 'rot6d_pose_head.py'
    assert {'registry', 'structures', 'models'} <= imported_subpackages(source)
