"""The SPADES translation statistics are written once and every config that normalises
SPADES translations gets them from there."""
import re
from pathlib import Path

import pytest
from mmengine.config import Config

from sparkpose.codecs import SPADES_TRANSLATION_MEAN, SPADES_TRANSLATION_STD
from sparkpose.registry import CODECS

ROOT = Path(__file__).resolve().parents[2]
SPADES_CONFIGS = ['configs/_base_/models/efficientnet_b0_rot6d.py',
                  'configs/_base_/models/eventresnet_quat.py',
                  'configs/_base_/models/voxelcnn_rot6d.py']


def test_statistics_are_written_in_one_place():
    mean = r'\s*,\s*'.join(re.escape(f'{value:g}') for value in SPADES_TRANSLATION_MEAN)
    homes = [str(path.relative_to(ROOT))
             for folder in ('configs', 'sparkpose') for path in (ROOT / folder).rglob('*.py')
             if re.search(mean, path.read_text())]
    assert homes == ['sparkpose/codecs/translation_normalizer.py']


@pytest.mark.parametrize('config', SPADES_CONFIGS)
def test_spades_configs_use_them(config):
    codec = CODECS.build(Config.fromfile(ROOT / config).model.head.codec)
    assert codec.mean.tolist() == list(SPADES_TRANSLATION_MEAN)
    assert codec.std.tolist() == list(SPADES_TRANSLATION_STD)
