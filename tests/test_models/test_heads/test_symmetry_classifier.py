"""Rot6DPoseHead's symmetry classifier: training target, decoding, export, and off = unchanged."""
import math

import numpy as np
import pytest
import torch

from sparkpose.registry import MODELS
from sparkpose.structures import (
    PoseDataSample,
    geodesic_distance_quaternion,
    matrix_to_rotation_6d,
    proba2_like,
    quaternion_to_matrix,
)

TURNS_180 = torch.tensor(np.array(proba2_like().symmetries), dtype=torch.float32)
CLASSIFIER = dict(symmetries=TURNS_180.tolist(), loss_weight=0.5)


def build_head(head_type='Rot6DPoseHead', **kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(type=head_type, in_channels=16, hidden_dim=32, dropout=0.0,
                             **kwargs))


def random_quaternions(num, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(num, 4, generator=generator), dim=-1)


def samples(quats):
    result = []
    for index, quat in enumerate(quats):
        sample = PoseDataSample(metainfo=dict(seq_id='RT000', label_index=index))
        sample.gt_t = torch.tensor([0.0, 0.0, 5.0])
        sample.gt_q = quat
        result.append(sample)
    return result


def one_hot_logits(indices, num=4, scale=10.0):
    return scale * torch.nn.functional.one_hot(torch.as_tensor(indices), num).float()


def test_decode_undoes_the_symmetry_the_classifier_picks():
    head = build_head(symmetry_classifier=CLASSIFIER)
    gt_q = random_quaternions(4)
    gt_R = quaternion_to_matrix(gt_q)
    ks = torch.tensor([0, 1, 2, 3])  # each sample regressed a different copy R_gt·S_k
    outputs = dict(translation=torch.zeros(4, 3),
                   rotation=matrix_to_rotation_6d(gt_R @ TURNS_180[ks]))
    pred_t, pred_q = head.decode(dict(outputs, symmetry_logits=one_hot_logits(ks)))
    assert geodesic_distance_quaternion(pred_q, gt_q).max().item() < 1e-3
    assert (pred_q[:, 3] >= 0).all()
    # The wrong class leaves a 180° error where the copy is not the identity.
    _, wrong_q = head.decode(dict(outputs, symmetry_logits=one_hot_logits([0, 0, 0, 0])))
    errors = geodesic_distance_quaternion(wrong_q, gt_q)
    assert errors[0].item() < 1e-3
    torch.testing.assert_close(errors[1:], torch.full((3,), math.pi), atol=1e-2, rtol=0)


def test_classifier_trains_towards_the_copy_the_rotation_reached():
    head = build_head(symmetry_classifier=CLASSIFIER)
    gt_q = random_quaternions(1)
    rotation = matrix_to_rotation_6d(quaternion_to_matrix(gt_q) @ TURNS_180[2])[0]
    with torch.no_grad():
        for layer, bias in ((head.fc_translation, torch.zeros(3)), (head.fc_rotation, rotation),
                            (head.fc_symmetry, one_hot_logits([2])[0])):
            layer.weight.zero_()
            layer.bias.copy_(bias)
    feats = (torch.randn(1, 16),)
    losses = head.loss(feats, samples(gt_q))
    assert set(losses) == {'loss_translation', 'loss_rotation', 'loss_symmetry'}
    # Default rotation loss is symmetric: the copy R_gt·S_2 costs nothing ...
    assert losses['loss_rotation'].item() < 2e-3
    # ... and logits favouring k* = 2 give a small cross-entropy, others a large one.
    assert losses['loss_symmetry'].item() < 1e-3
    with torch.no_grad():
        head.fc_symmetry.bias.copy_(one_hot_logits([0])[0])
    assert head.loss(feats, samples(gt_q))['loss_symmetry'].item() == pytest.approx(
        0.5 * 10.0, rel=1e-3)  # loss_weight · (logsumexp − logit_k*) ≈ 0.5 · 10
    pred = head.predict(feats, [PoseDataSample()])[0]
    assert geodesic_distance_quaternion(pred.pred_q, gt_q[0]).item() == pytest.approx(
        math.pi, abs=1e-2)  # classifier says "identity": the copy is returned as is
    with torch.no_grad():
        head.fc_symmetry.bias.copy_(one_hot_logits([2])[0])
    pred = head.predict(feats, [PoseDataSample()])[0]
    assert geodesic_distance_quaternion(pred.pred_q, gt_q[0]).item() < 1e-3


def test_per_sample_losses_and_gradients_are_finite():
    head = build_head(symmetry_classifier=CLASSIFIER)
    feats = (torch.randn(4, 16, requires_grad=True),)
    outputs = head(feats)
    assert outputs['symmetry_logits'].shape == (4, 4)
    terms = head.loss_terms(outputs, samples(random_quaternions(4)), reduction_override='none')
    assert all(term.shape == (4,) for term in terms.values())
    sum(term.sum() for term in terms.values()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in head.parameters())
    assert head.fc_symmetry.weight.grad.abs().sum() > 0


def test_classifier_off_changes_nothing_and_on_adds_only_its_branch():
    plain = build_head()
    with_classifier = build_head(symmetry_classifier=CLASSIFIER)
    assert 'symmetry_logits' not in plain((torch.randn(2, 16),))
    assert type(plain.loss_rotation).__name__ == 'GeodesicRotationLoss'
    assert type(with_classifier.loss_rotation).__name__ == 'SymmetricGeodesicLoss'
    added = set(with_classifier.state_dict()) - set(plain.state_dict())
    assert added == {'fc_symmetry.weight', 'fc_symmetry.bias'}
    # Zero-initialised: uniform logits decode as the identity class, i.e. the plain head.
    with_classifier.load_state_dict(plain.state_dict(), strict=False)
    feats = (torch.randn(3, 16),)
    torch.testing.assert_close(with_classifier.decode(with_classifier(feats))[1],
                               plain.decode(plain(feats))[1])


def test_classifier_reads_the_body_model_file(tmp_path):
    path = proba2_like().save(tmp_path / 'body.json')
    head = build_head(symmetry_classifier=dict(body_model=str(path)))
    torch.testing.assert_close(head.symmetries, TURNS_180)
    assert head.fc_symmetry.out_features == 4 and head.symmetry_loss_weight == 1.0


def test_decode_with_classifier_exports():
    head = build_head(symmetry_classifier=CLASSIFIER).eval()

    class Decoder(torch.nn.Module):
        """What predict_pose traces after the network: decode of the raw outputs."""

        def __init__(self):
            super().__init__()
            self.head = head

        def forward(self, rotation, logits):
            return self.head.decode(dict(translation=torch.zeros_like(rotation[:, :3]),
                                         rotation=rotation, symmetry_logits=logits))

    gt_q = random_quaternions(4)
    ks = torch.tensor([3, 2, 1, 0])
    rotation = matrix_to_rotation_6d(quaternion_to_matrix(gt_q) @ TURNS_180[ks])
    program = torch.export.export(Decoder(), (rotation, one_hot_logits([0, 1, 2, 3])))
    # Traced with other classes than it now gets: the choice is data, not baked in.
    _, pred_q = program.module()(rotation, one_hot_logits(ks))
    assert geodesic_distance_quaternion(pred_q, gt_q).max().item() < 1e-3


def test_tiny_overfit_lowers_every_loss():
    head = build_head(symmetry_classifier=CLASSIFIER)
    feats = (torch.randn(8, 16, generator=torch.Generator().manual_seed(2)),)
    batch = samples(random_quaternions(8, seed=3))
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    first = None
    for _ in range(40):
        losses = head.loss(feats, batch)
        first = first or {name: value.item() for name, value in losses.items()}
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    last = {name: value.item() for name, value in head.loss(feats, batch).items()}
    assert all(last[name] < 0.7 * first[name] for name in first), (first, last)


def test_classifier_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"unknown keys \['weight'\]"):
        build_head(symmetry_classifier=dict(symmetries=CLASSIFIER['symmetries'], weight=1.0))
    with pytest.raises(ValueError, match='exactly one of body_model'):
        build_head(symmetry_classifier=dict(loss_weight=1.0))
    with pytest.raises(ValueError, match='UncertaintyPoseHead: symmetry_classifier'):
        build_head('UncertaintyPoseHead', symmetry_classifier=CLASSIFIER)

