"""Product text stays true: cross-references resolve, the model zoo lists every config, no
issue numbers."""
import pydoc
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO / 'sparkpose').rglob('*.py')) + sorted((REPO / 'tools').rglob('*.py'))
CROSS_REFERENCE = re.compile(r':(?:mod|class|func|meth|data|attr|exc):`~?(sparkpose[\w.]*)`')


def test_every_sphinx_cross_reference_to_sparkpose_resolves():
    broken = [f'{path.relative_to(REPO)}: {name}' for path in SOURCES
              for name in sorted(set(CROSS_REFERENCE.findall(path.read_text())))
              if pydoc.locate(name) is None]
    assert not broken, '\n'.join(broken)


def test_the_check_sees_a_broken_reference():
    assert CROSS_REFERENCE.findall(':class:`~sparkpose.structures.nothing.Here`')
    assert pydoc.locate('sparkpose.structures.nothing.Here') is None


def test_the_model_zoo_lists_every_runnable_config():
    zoo = (REPO / 'README.md').read_text().split('## Model zoo', 1)[1].split('\n\n', 2)[1]
    configs = [p.relative_to(REPO).as_posix() for p in (REPO / 'configs').rglob('*.py')
               if not {'_base_', 'ablations'} & set(p.parts)]
    assert configs and [c for c in configs if f'`{c}`' not in zoo] == []


@pytest.mark.parametrize('folder', ['sparkpose', 'tools', 'configs', 'docs', 'projects'])
def test_no_issue_numbers_in_product_files(folder):
    found = [f'{path.relative_to(REPO)}:{number}' for path in sorted((REPO / folder).rglob('*'))
             if path.suffix in ('.py', '.sh', '.md')
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r'\bissues?\s*#?\d', line, re.I)]
    assert not found, found
