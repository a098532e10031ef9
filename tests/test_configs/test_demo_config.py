"""The demo config's header says truthfully what its bases provide and what it sets."""
import ast
import re
from pathlib import Path

import pytest
from mmengine.config import Config

DEMO = (Path(__file__).resolve().parents[2] / 'configs' / 'keypoint'
        / 'kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py')
# What a reader looks for in the bases, named in the header.
ESSENTIAL = {'default_scope', 'runner_type', 'randomness.seed',
             'train_dataloader.sampler.type', 'val_dataloader.sampler.type',
             'train_dataloader.collate_fn.type', 'train_cfg.type', 'val_cfg.type',
             'test_cfg.type', 'optim_wrapper.type', 'default_hooks.checkpoint.save_best'}


def _header() -> str:
    return DEMO.read_text().split('_base_ = [', 1)[0]


def _from_bases() -> dict[str, tuple[str, object]]:
    """``{dotted key: (base file, value)}`` of the header's ``#   key = value`` lines, each
    under its ``#   _base_/....py: ...`` line."""
    found, base = {}, None
    for line in _header().splitlines():
        if heading := re.match(r'#\s+(_base_/[\w/]+\.py):', line):
            base = heading.group(1)
        elif entry := re.match(r'#\s+([\w.]+) = (.+)$', line):
            found[entry.group(1)] = base, ast.literal_eval(entry.group(2))
    return found


def _lookup(cfg: dict, dotted: str):
    """The value at ``a.b.c``, tuples as lists (as the header writes them)."""
    for part in dotted.split('.'):
        cfg = cfg[part]
    return list(cfg) if isinstance(cfg, tuple) else cfg


def _own() -> dict:
    """What this file sets itself (read without its bases)."""
    text = re.sub(r'^_base_ = \[.*?\]\n', '', DEMO.read_text(), flags=re.S | re.M)
    return Config.fromstring(text, '.py').to_dict()


@pytest.fixture(scope='module')
def resolved() -> dict:
    return Config.fromfile(str(DEMO)).to_dict()


def test_header_names_what_a_reader_looks_for_in_the_bases():
    assert ESSENTIAL <= set(_from_bases())


@pytest.mark.parametrize('key', sorted(_from_bases()))
def test_header_values_are_the_resolved_ones_and_come_from_the_named_base(key, resolved):
    base, expected = _from_bases()[key]
    assert _lookup(resolved, key) == expected
    assert _lookup(Config.fromfile(str(DEMO.parents[1] / base)).to_dict(), key) == expected
    with pytest.raises(KeyError):  # set in the base, not here
        _lookup(_own(), key)


def test_header_lists_every_name_the_file_sets():
    listed = re.search(r'^# Set here: (.*?)\. ', _header(), re.S | re.M).group(1)
    assert set(re.split(r',\s*(?:#\s*)?', listed)) == set(_own())
