"""check_config_keys: misspelt keys are named instead of being ignored."""
import pytest
from mmengine.config import Config

from sparkpose.engine import check_config_keys
from sparkpose.engine.config_checks import check_batch_sizes


def test_helper_variables_and_runner_keys_pass():
    check_config_keys(dict(model=dict(type='X'), codec=dict(), train_pipeline=[], base_lr=1e-3,
                           max_epochs=3, data_root='data', optim_wrapper=dict()))


def test_misspelt_top_level_key_is_named():
    with pytest.raises(KeyError, match="'optim_wraper' is unknown; did you mean 'optim_wrapper'"):
        check_config_keys(dict(optim_wraper=dict()))


def test_misspelt_override_is_named():
    cfg = Config(dict(train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=3)))
    check_config_keys(cfg, ['train_cfg.max_epochs', 'train_cfg.val_interval', 'codec.mean'])
    with pytest.raises(KeyError, match='did you mean train_cfg.max_epochs'):
        check_config_keys(cfg, ['train_cfg.max_epoch'])
    with pytest.raises(KeyError, match="'randomnes' is unknown; did you mean 'randomness'"):
        check_config_keys(cfg, ['randomnes.seed'])


@pytest.mark.parametrize('size', [-4, 0, 2.5])
def test_bad_batch_size_names_the_config_key(size):
    cfg = Config(dict(train_dataloader=dict(batch_size=2), val_dataloader=dict(batch_size=size)))
    with pytest.raises(ValueError, match=rf'val_dataloader.batch_size={size}: must be a positive'):
        check_batch_sizes(cfg)
    check_batch_sizes(Config(dict(train_dataloader=dict(batch_size=2))))
