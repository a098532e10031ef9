"""CropTranslationCodec: exact inverse, crop geometry, heads passing each sample's camera."""
import math

import numpy as np
import pytest
import torch

from sparkpose.codecs import SPADES_TRANSLATION_MEAN
from sparkpose.registry import CODECS, MODELS
from sparkpose.structures import PoseDataSample, matrix_to_rotation_6d, quaternion_to_matrix

SENSOR_K = np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]])
N = 128  # network input side


def crop_K(x0, y0, side, K=SENSOR_K, size=N):
    """Intrinsics of the square crop [x0, x0 + side) × [y0, y0 + side) resized to size²."""
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    return np.diag([size / side, size / side, 1.0]) @ shift @ K


def crop_around(t, radius=1.0, margin=1.25, K=SENSOR_K):
    """The crop a detector would give: centred on the origin's pixel, 1.25× its diameter."""
    u, v = (K @ t)[:2] / t[2]
    side = margin * 2 * K[0, 0] * radius / t[2]
    return crop_K(u - side / 2, v - side / 2, side)


def random_cases(num, dtype, seed=0):
    rng = np.random.default_rng(seed)
    t = np.column_stack([rng.uniform(-2, 2, num), rng.uniform(-1, 1, num),
                         rng.uniform(3, 12, num)])
    # Crops off-centre and of varying scale, some target origins outside the crop.
    K = np.stack([crop_K(rng.uniform(0, 900), rng.uniform(0, 400), rng.uniform(80, 500))
                  for _ in range(num)])
    size = np.tile([N, N], (num, 1))
    return (torch.tensor(t, dtype=dtype), torch.tensor(K, dtype=dtype),
            torch.tensor(size, dtype=dtype))


@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-6), (torch.float32, 1e-4)])
def test_decode_inverts_encode(dtype, tol):
    codec = CODECS.build(dict(type='CropTranslationCodec'))
    t, K, size = random_cases(64, dtype)
    encoded = codec.encode(t, cam_K=K, input_size=size)
    assert encoded.dtype == dtype and encoded.shape == (64, 3)
    torch.testing.assert_close(codec.decode(encoded, cam_K=K, input_size=size), t, atol=tol, rtol=0)
    generator = torch.Generator().manual_seed(1)
    arbitrary = torch.randn(64, 3, generator=generator).to(dtype)
    camera = dict(cam_K=K, input_size=size)
    torch.testing.assert_close(codec.encode(codec.decode(arbitrary, **camera), **camera),
                               arbitrary, atol=tol, rtol=0)


def test_skewed_and_non_square_cameras_round_trip():
    codec = CODECS.build(dict(type='CropTranslationCodec', depth_mean=1.0, depth_std=0.5,
                              uv_std=0.2))
    K = torch.tensor([[300.0, 2.0, 50.0], [0.0, 310.0, 40.0], [0.0, 0.0, 1.0]],
                     dtype=torch.float64)
    t = torch.tensor([[0.3, -0.2, 4.0], [-1.0, 0.5, 9.0]], dtype=torch.float64)
    size = (96, 64)  # one camera and size broadcast over the batch
    camera = dict(cam_K=K, input_size=size)
    torch.testing.assert_close(codec.decode(codec.encode(t, **camera), **camera), t,
                               atol=1e-9, rtol=0)


def test_hand_values():
    codec = CODECS.build(dict(type='CropTranslationCodec', depth_mean=0.5, depth_std=0.25,
                              uv_std=0.1))
    K = torch.tensor([[200.0, 0.0, 64.0], [0.0, 200.0, 64.0], [0.0, 0.0, 1.0]])
    # On the optical axis, principal point at the input centre: u'/N - 0.5 = 0.
    # Z·N/f' = 5·128/200 = 3.2; (log 3.2 - 0.5) / 0.25.
    encoded = codec.encode(torch.tensor([0.0, 0.0, 5.0]), cam_K=K, input_size=(N, N))
    torch.testing.assert_close(encoded, torch.tensor([0.0, 0.0, (math.log(3.2) - 0.5) / 0.25]))
    # 0.5 m right at 5 m: u' = 64 + 200·0.1 = 84, (84/128 - 0.5) / 0.1 = 1.5625.
    encoded = codec.encode(torch.tensor([0.5, 0.0, 5.0]), cam_K=K, input_size=(N, N))
    assert encoded[0].item() == pytest.approx(1.5625) and encoded[1].item() == 0


def test_defaults_give_zero_targets_for_the_crop_they_assume_at_any_distance():
    codec = CODECS.build(dict(type='CropTranslationCodec'))
    assert codec.depth_mean == pytest.approx(math.log(2.5))
    for t in ([0.0, 0.0, 3.0], [1.5, -0.7, 6.0], [-3.0, 1.0, 12.0]):
        t = np.array(t)
        encoded = codec.encode(torch.tensor(t), cam_K=torch.tensor(crop_around(t)),
                               input_size=(N, N))
        torch.testing.assert_close(encoded, torch.zeros(3, dtype=torch.float64),
                                   atol=1e-9, rtol=0)


def test_shifting_the_crop_shifts_only_the_encoded_pixel():
    codec = CODECS.build(dict(type='CropTranslationCodec', uv_std=0.1))
    t = torch.tensor([0.4, -0.3, 6.0], dtype=torch.float64)
    K = torch.tensor(crop_K(500.0, 250.0, 400.0))
    # Moving the crop window by (dx, dy) input pixels moves the principal point by -(dx, dy).
    dx, dy = 12.0, -5.0
    shifted = K.clone()
    shifted[0, 2] -= dx
    shifted[1, 2] -= dy
    delta = (codec.encode(t, cam_K=shifted, input_size=(N, N))
             - codec.encode(t, cam_K=K, input_size=(N, N)))
    torch.testing.assert_close(delta, torch.tensor([-dx / (N * 0.1), -dy / (N * 0.1), 0.0],
                                                   dtype=torch.float64))


def test_errors_name_the_value():
    with pytest.raises(ValueError, match='depth_std=0'):
        CODECS.build(dict(type='CropTranslationCodec', depth_std=0))
    codec = CODECS.build(dict(type='CropTranslationCodec'))
    K = torch.tensor(crop_K(0, 0, 256))
    with pytest.raises(ValueError, match=r'min Z = -1'):
        codec.encode(torch.tensor([[0.0, 0.0, 4.0], [0.0, 0.0, -1.0]]), cam_K=K, input_size=(N, N))
    with pytest.raises(ValueError, match=r'got \(3, 3\) and \(3,\)'):
        codec.encode(torch.tensor([0.0, 0.0, 4.0]), cam_K=K, input_size=(N, N, 1))


# Head level: each sample's cam_K / input_size metainfo reaches the codec.
HEADS = ['QuaternionPoseHead', 'Rot6DPoseHead', 'UncertaintyPoseHead']


def build_head(head_type):
    torch.manual_seed(0)
    return MODELS.build(dict(type=head_type, in_channels=16, hidden_dim=32, dropout=0.0,
                             codec=dict(type='CropTranslationCodec')))


def crop_samples(num=3):
    rng = np.random.default_rng(5)
    result = []
    for index in range(num):
        t = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(4, 10)])
        # Jittered crops, as in training; cam_K as PackPoseInputs gives it (array) or a list.
        K = crop_around(t + rng.normal(0, 0.1, 3))
        sample = PoseDataSample(metainfo=dict(seq_id='RT000', label_index=index,
                                              cam_K=K.tolist() if index == 1 else K,
                                              input_size=(N, N)))
        sample.gt_t = torch.tensor(t, dtype=torch.float32)
        sample.gt_q = torch.tensor([0.0, 0.0, 0.0, 1.0])
        result.append(sample)
    return result


def set_output(head, translation):
    """Constant outputs (zero weights, biases set): the same for every sample."""
    rotation = head.identity_rotation
    with torch.no_grad():
        for layer, bias in ((head.fc_translation, translation), (head.fc_rotation, rotation)):
            layer.weight.zero_()
            layer.bias.copy_(torch.as_tensor(bias))


@pytest.mark.parametrize('head_type', HEADS)
def test_head_loss_and_predict_use_each_samples_camera(head_type):
    head = build_head(head_type)
    batch = crop_samples()
    feats = (torch.randn(3, 16, requires_grad=True),)
    losses = head.loss(feats, batch)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert feats[0].grad.abs().sum() > 0

    # Output exactly the encoded target of one sample: zero loss, prediction = gt (m).
    sample = batch[2]
    K = torch.as_tensor(np.asarray(sample.cam_K), dtype=torch.float32)
    set_output(head, head.codec.encode(sample.gt_t, cam_K=K, input_size=sample.input_size))
    one = (torch.randn(1, 16),)
    assert head.loss(one, [sample])['loss_translation'].item() < 1e-8
    pred = head.predict(one, [PoseDataSample(metainfo=sample.metainfo)])[0]
    torch.testing.assert_close(pred.pred_t, sample.gt_t, atol=1e-4, rtol=0)
    # The same outputs in another crop decode to another translation.
    other = head.predict(one, [PoseDataSample(metainfo=batch[0].metainfo)])[0]
    assert (other.pred_t - sample.gt_t).abs().max() > 0.1


def test_head_without_camera_fails_clearly():
    head = build_head('Rot6DPoseHead')
    feats = (torch.randn(2, 16),)
    with pytest.raises(ValueError, match=r"CropTranslationCodec.decode needs each sample's "
                                         r'cam_K and input_size, got none'):
        head.predict(feats, [PoseDataSample(), PoseDataSample()])
    batch = crop_samples(2)
    del batch[1].input_size
    with pytest.raises(ValueError, match=r'samples \[1\] lack cam_K / input_size'):
        head.loss(feats, batch)
    # predict_pose / torch.export decode without samples.
    with pytest.raises(ValueError, match=r"CropTranslationCodec.decode needs .*head.decode\("
                                         r'outputs, cam_K=\.\.\., input_size=\.\.\.\)'):
        head.decode(head(feats))


def test_plain_codec_heads_ignore_the_camera():
    head = MODELS.build(dict(type='Rot6DPoseHead', in_channels=16, hidden_dim=32,
                             codec=dict(type='TranslationNormalizer')))
    rotation = matrix_to_rotation_6d(quaternion_to_matrix(torch.tensor([[0.0, 0.0, 0.0, 1.0]])))
    outputs = dict(translation=torch.zeros(1, 3), rotation=rotation)
    expected = torch.tensor([SPADES_TRANSLATION_MEAN])
    torch.testing.assert_close(head.decode(outputs)[0], expected)
    # Given a camera anyway (as predict passes the samples'), the result is the same.
    camera = dict(cam_K=torch.eye(3)[None], input_size=torch.tensor([[64.0, 64.0]]))
    torch.testing.assert_close(head.decode(outputs, **camera)[0], expected)
