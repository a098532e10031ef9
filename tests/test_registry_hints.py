"""Registry hints: misspelt types and arguments fail naming the closest valid ones."""
import inspect
import uuid
from pathlib import Path

import mmengine.registry as mmengine_registry
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from sparkpose.models.backbones import VoxelCNN
from sparkpose.registry import DATASETS, HOOKS, MODELS, RUNNERS
from sparkpose.registry_hints import (
    SparkposeRegistry,
    UnknownArgumentError,
    UnknownTypeError,
    closest_names,
    keyword_arguments,
)

DEMO_CONFIG = (Path(__file__).parents[1] / 'configs' / 'voxelcnn'
               / 'rot6d_voxelcnn_1xb32-30e_synthetic-128x128.py')


@pytest.fixture(autouse=True)
def sparkpose_scope() -> None:
    init_default_scope('sparkpose')


@pytest.mark.parametrize('registry', [MODELS, mmengine_registry.MODELS],
                         ids=['sparkpose', 'mmengine-root'])
def test_unknown_type_names_registry_and_closest_types(registry):
    with pytest.raises(UnknownTypeError) as info:
        registry.build(dict(type='VoxelCN'))
    message = str(info.value)
    assert message.startswith("'VoxelCN' is not in the sparkpose::model registry "
                              '(nor in mmengine::model); did you mean ')
    assert closest_names('VoxelCN', MODELS.module_dict)[0] == 'VoxelCNN' in message
    assert isinstance(info.value, KeyError)  # what mmengine raises, for existing handlers


def test_suggestions_search_the_parent_registry_and_ignore_case():
    with pytest.raises(UnknownTypeError, match="did you mean 'CheckpointHook'"):
        HOOKS.build(dict(type='CheckpointHok'))  # registered in mmengine's HOOKS
    with pytest.raises(UnknownTypeError, match="did you mean 'VoxelCNN'"):
        MODELS.get('voxelcnn')
    with pytest.raises(UnknownTypeError, match=r"'Zzz' .*; no similar name\."):
        MODELS.get('Zzz')


def test_scoped_keys():
    with pytest.raises(UnknownTypeError, match="did you mean 'sparkpose.VoxelCNN'"):
        MODELS.get('sparkpose.VoxelCN')
    # Collate functions are looked up in mmengine's root with our scope as a prefix; the
    # root passes the bare name on to our registry.
    assert mmengine_registry.FUNCTIONS.get('sparkpose.pose_collate').__name__ == 'pose_collate'
    with pytest.raises(UnknownTypeError, match="'pose_colate' is not in the sparkpose::function "
                       r"registry .*did you mean 'pose_collate'"):
        mmengine_registry.FUNCTIONS.get('sparkpose.pose_colate')


def test_membership_still_answers_false():
    assert 'VoxelCNN' in MODELS and 'BaseDataPreprocessor' in MODELS  # ours, mmengine's
    assert 'VoxelCN' not in MODELS and 'mmengine.VoxelCNN' not in MODELS


def test_misspelt_argument_names_class_key_and_closest_arguments():
    with pytest.raises(UnknownArgumentError) as info:
        MODELS.build(dict(type='VoxelCNN', chanels=(8, 16)))
    assert str(info.value) == (
        "VoxelCNN got an unknown argument 'chanels'; did you mean 'channels' or "
        "'in_channels'? VoxelCNN takes: in_channels, channels, out_indices, init_cfg")
    assert isinstance(info.value, TypeError)
    # Building and introspection are unchanged.
    assert MODELS.build(dict(type='VoxelCNN', channels=(8, 16))).out_channels == (16,)
    assert list(inspect.signature(VoxelCNN).parameters) == [
        'in_channels', 'channels', 'out_indices', 'init_cfg']


def test_argument_passed_on_to_the_base_class(spades_root_factory):
    # SPADESDataset passes **kwargs to mmengine's BaseDataset, which raises the TypeError.
    assert {'window_ms', 'indices', 'pipeline'} <= set(keyword_arguments(DATASETS.get(
        'SPADESDataset')))
    with pytest.raises(UnknownArgumentError, match=(
            r"^SPADESDataset got an unknown argument 'windw_ms'; did you mean 'window_ms'\? "
            r'SPADESDataset takes: data_root, split, ')):
        DATASETS.build(dict(type='SPADESDataset', data_root=str(spades_root_factory()),
                            split='train.txt', windw_ms=100))


THINGS = SparkposeRegistry('thing', scope='test_registry')


@THINGS.register_module()
class Base:
    def __init__(self, size: int = 1, *, label: str = '') -> None:
        if size < 0:
            raise TypeError(f'size must be a count, got {size}')  # not about a keyword


class Unregistered(Base):
    pass


@THINGS.register_module()
class Extended(Base):
    def __init__(self, scale: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)


def test_other_type_errors_pass_through_unchanged():
    with pytest.raises(TypeError, match='size must be a count') as info:
        THINGS.build(dict(type='Base', size=-1))
    assert type(info.value) is TypeError


def test_subclasses_are_named_with_their_own_arguments():
    with pytest.raises(UnknownArgumentError, match=r"^Unregistered got an unknown argument "
                       r"'sise'; did you mean 'size'\? Unregistered takes: size, label$"):
        Unregistered(sise=2)
    # Raised in Base.__init__, reported for Extended with everything it accepts.
    with pytest.raises(UnknownArgumentError, match=r"^Extended got an unknown argument "
                       r"'labl'; did you mean 'label'\? Extended takes: scale, size, label$"):
        THINGS.build(dict(type='Extended', scale=2.0, labl='x'))
    assert isinstance(THINGS.build(dict(type='Extended', size=3, label='x')), Extended)


def demo_config(tmp_path: Path, **options) -> Config:
    cfg = Config.fromfile(DEMO_CONFIG)
    # A name of its own: runners built within a second would share mmengine's instances.
    cfg.merge_from_dict({'work_dir': str(tmp_path), 'experiment_name': uuid.uuid4().hex,
                         **options})
    return cfg


@pytest.mark.parametrize('build', [RUNNERS.build, Runner.from_cfg],
                         ids=['RUNNERS.build', 'Runner.from_cfg'])
def test_runner_reports_misspelt_model_config(tmp_path, build):
    with pytest.raises(UnknownTypeError, match=r"'VoxelCN' is not in the sparkpose::model "
                       r".*did you mean 'VoxelCNN'"):
        build(demo_config(tmp_path, **{'model.backbone.type': 'VoxelCN'}))
    cfg = demo_config(tmp_path)
    cfg.model.backbone.chanels = cfg.model.backbone.pop('channels')
    with pytest.raises(UnknownArgumentError, match="VoxelCNN got an unknown argument "
                       "'chanels'; did you mean 'channels'"):
        build(cfg)


def test_runner_reports_misspelt_runner_and_dataset(tmp_path, spades_root_factory):
    with pytest.raises(UnknownTypeError, match="did you mean 'SparkposeRunner'"):
        RUNNERS.build(demo_config(tmp_path, runner_type='SparkposeRuner'))
    cfg = demo_config(tmp_path, **{
        'train_dataloader.dataset.data_root': str(spades_root_factory()),
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False})
    cfg.train_dataloader.dataset.windw_ms = cfg.train_dataloader.dataset.pop('window_ms')
    runner = RUNNERS.build(cfg)  # the dataloader is built when training starts
    with pytest.raises(UnknownArgumentError, match="SPADESDataset got an unknown argument "
                       "'windw_ms'; did you mean 'window_ms'"):
        runner.train()
