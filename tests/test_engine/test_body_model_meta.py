"""The training body model travels in the checkpoint's meta; test and inference use it."""
from pathlib import Path

import torch
from mmengine.config import Config

from sparkpose.apis import init_model
from sparkpose.engine import body_model_meta, use_checkpoint_body_model
from sparkpose.structures.body_model import load_body_model, mirror_symmetric, proba2_like

KEYPOINT = (Path(__file__).resolve().parents[2] / 'configs' / 'keypoint'
            / 'kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py')


def test_meta_holds_the_model_body_and_replaces_every_config_path(tmp_path):
    body = proba2_like().save(tmp_path / 'body.json')
    cfg = Config.fromfile(str(KEYPOINT))
    meta = body_model_meta(dict(head=dict(body_model=str(body))))
    assert meta['body_model'] == proba2_like().to_dict()

    mirror_symmetric().save(tmp_path / 'other.json')  # the test data's own, different body
    cfg.merge_from_dict({'model.head.body_model': str(tmp_path / 'other.json'),
                         'val_evaluator.body_model': str(tmp_path / 'other.json')})
    path = use_checkpoint_body_model(cfg, dict(meta=meta))
    for used in (cfg.model.head.body_model, cfg.val_evaluator.body_model,
                 cfg.custom_hooks[0].body_model):
        assert used == path
    assert load_body_model(path).keypoint_names == proba2_like().keypoint_names


def test_old_checkpoint_without_body_keeps_the_config_paths():
    cfg = Config.fromfile(str(KEYPOINT))
    before = cfg.model.head.body_model
    assert use_checkpoint_body_model(cfg, dict(meta=dict(epoch=1))) is None
    assert cfg.model.head.body_model == before


def test_init_model_needs_no_body_json_beside_the_data(tmp_path):
    body = proba2_like().save(tmp_path / 'body.json')
    cfg = Config.fromfile(str(KEYPOINT))
    cfg.model.head.body_model = str(body)
    torch.manual_seed(0)
    trained = init_model(cfg)
    checkpoint = tmp_path / 'model.pth'
    torch.save(dict(state_dict=trained.state_dict(),
                    meta=body_model_meta(cfg.model)), checkpoint)
    body.unlink()  # no body.json anywhere the config names
    model = init_model(Config.fromfile(str(KEYPOINT)), checkpoint)
    assert model.cfg.model.head.body_model != str(body)
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
