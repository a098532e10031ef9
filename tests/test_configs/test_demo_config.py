"""The demo config's header says truthfully what its bases provide and what it sets."""
import ast
import re
from pathlib import Path

import pytest
from mmengine.config import Config

DEMO = (Path(__file__).resolve().parents[2] / 'configs' / 'keypoint'
        / 'kpt_voxelcnn-fusion_1xb32-24e_synthetic-crop64.py')
# What a reader looks for in the bases, named in the header.
ESSENTIAL = {'default_scope', 'runner_type', 'randomness.seed',
             'train_dataloader.sampler.type', 'val_dataloader.sampler.type',
             'train_dataloader.collate_fn.type', 'train_cfg.type', 'val_cfg.type',
             'test_cfg.type', 'optim_wrapper.type', 'default_hooks.checkpoint.save_best'}


def _header() -> str:
    return DEMO.read_text().split('_base_ = [', 1)[0]


def _from_bases() -> dict[str, object]:
    """``{dotted key: value}`` of the header's ``#   key = value`` lines."""
    return {key: ast.literal_eval(value) for key, value in
            re.findall(r'^#\s+([\w.]+) = (.+)$', _header(), re.M)}


def _lookup(cfg: dict, dotted: str):
    for part in dotted.split('.'):
        cfg = cfg[part]
    return cfg


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
def test_header_values_are_the_resolved_ones_and_come_from_a_base(key, resolved):
    value = _lookup(resolved, key)
    assert (list(value) if isinstance(value, tuple) else value) == _from_bases()[key]
    with pytest.raises(KeyError):  # set in a base, not here
        _lookup(_own(), key)


def test_header_lists_every_name_the_file_sets():
    listed = re.search(r'^# Set here: (.*?)\. ', _header(), re.S | re.M).group(1)
    assert set(re.split(r',\s*(?:#\s*)?', listed)) == set(_own())
