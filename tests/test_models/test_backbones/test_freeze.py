"""freeze()/unfreeze(): no gradients, BatchNorm held in eval mode across model.train()."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from sparkpose.registry import MODELS

BACKBONES = [
    dict(type='VoxelCNN', in_channels=2, channels=(4, 8)),
    dict(type='EventResNet', in_channels=2, stem_channels=4, stage_channels=(4, 8),
         stage_blocks=(1, 1), strides=(1, 2), out_indices=(1,)),
    dict(type='TimmBackbone', model_name='efficientnet_b0', in_channels=2),
]


def batch_norms(module):
    return [m for m in module.modules() if isinstance(m, _BatchNorm)]


@pytest.fixture(autouse=True)
def seeded_torch():
    """Fixed weights and inputs, whatever ran before in this process.

    Unseeded, the test drew from the global generator left by earlier tests (another
    order under pytest-xdist): e.g. after ``torch.manual_seed(59)`` every ReLU between the
    VoxelCNN backbone and the translation output is dead and the backbone gets no gradient.
    """
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


@pytest.mark.parametrize('backbone', BACKBONES, ids=lambda cfg: cfg['type'])
def test_freeze_survives_train_and_unfreeze_restores(backbone):
    model = MODELS.build(dict(
        type='PoseEstimator', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
        head=dict(type='Rot6DPoseHead', in_channels=MODELS.build(backbone).out_channels[-1],
                  hidden_dim=8)))
    model.backbone.freeze()
    model.train()  # what mmengine's run_epoch does after the before_train_epoch hooks
    assert model.backbone.frozen
    assert all(not bn.training for bn in batch_norms(model.backbone))
    assert model.head.training
    running_mean = [bn.running_mean.clone() for bn in batch_norms(model.backbone)]

    out = model(torch.randn(2, 2, 32, 32), mode='tensor')
    (out['translation'].sum() + out['rotation'].sum()).backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.head.parameters())
    for before, bn in zip(running_mean, batch_norms(model.backbone)):
        torch.testing.assert_close(bn.running_mean, before, atol=0, rtol=0)

    model.backbone.unfreeze()
    assert not model.backbone.frozen
    assert all(bn.training for bn in batch_norms(model.backbone))
    out = model(torch.randn(2, 2, 32, 32), mode='tensor')
    out['translation'].sum().backward()
    assert all(p.requires_grad for p in model.backbone.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.backbone.parameters())
    moved = [not torch.equal(bn.running_mean, before)
             for before, bn in zip(running_mean, batch_norms(model.backbone))]
    assert any(moved)


def test_unfreeze_restores_user_frozen_parameters():
    backbone = MODELS.build(BACKBONES[0])
    first = next(backbone.parameters())
    first.requires_grad = False
    backbone.freeze()
    backbone.freeze()  # idempotent: must not record the frozen state as the original
    backbone.unfreeze()
    assert not first.requires_grad
    assert all(p.requires_grad for p in list(backbone.parameters())[1:])
