"""The export CLI, called in-process on tiny configs; the program is checked against PyTorch."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from sparkpose.apis import init_model
from sparkpose.engine import UnsafeCheckpointError
from sparkpose.registry import MODELS
from sparkpose.structures import PoseDataSample, proba2_like

MARKER_NAME = 'code_ran.txt'


@pytest.fixture(scope='module')
def export_cli(load_tool):
    return load_tool('deployment/export.py')


def model_cfg(head_type):
    return dict(
        type='PoseEstimator',
        backbone=dict(type='VoxelCNN', in_channels=4, channels=(8, 16)),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type=head_type, in_channels=16, hidden_dim=32,
                  codec=dict(type='TranslationNormalizer', mean=(0.1, -0.2, 6.0),
                             std=(0.9, 0.5, 1.5))))


def write_config(directory, head_type, input_size=(48, 32)):
    """A config as users write them; ``input_size`` is (W, H), non-square to catch a swap."""
    pipeline = [dict(type='EventsToVoxelGrid', num_bins=2, input_size=input_size),
                dict(type='PackPoseInputs')] if input_size else []
    path = Path(directory) / f'{head_type}.py'
    path.write_text(f"default_scope = 'sparkpose'\n"
                    f'model = {model_cfg(head_type)!r}\n'
                    f'test_dataloader = dict(dataset=dict(pipeline={pipeline!r}))\n')
    return path


def trained_like_model(head_type):
    """A model with non-trivial BatchNorm statistics, so eval vs train mode matters."""
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(head_type))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _touch(path):
    Path(path).touch()


class CodeInCheckpoint:
    """Unpickling this would create a file: a stand-in for a malicious checkpoint."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return _touch, (self.path,)


@pytest.mark.parametrize('head_type', ['Rot6DPoseHead', 'QuaternionPoseHead'])
def test_exported_program_matches_pytorch(export_cli, tmp_path, capsys, head_type):
    model = trained_like_model(head_type)
    checkpoint = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    out = tmp_path / 'deploy' / 'model.pt2'

    export_cli.main([str(write_config(tmp_path, head_type)), str(checkpoint), '--out', str(out)])

    printed = capsys.readouterr().out
    assert 'max |exported - pytorch|' in printed and '(B, 4, 32, 48)' in printed
    extra = {export_cli.META_FILE: '', export_cli.CONFIG_FILE: ''}
    program = torch.export.load(out, extra_files=extra)
    assert json.loads(extra[export_cli.META_FILE])['input_shape'] == ['B', 4, 32, 48]
    assert head_type in extra[export_cli.CONFIG_FILE]
    deployed = program.module()
    generator = torch.Generator().manual_seed(1)
    for batch in (1, 2, 5):
        inputs = torch.rand(batch, 4, 32, 48, generator=generator)
        with torch.no_grad():
            t, q = deployed(inputs)
            samples = model.predict(inputs)
        expected_t = torch.stack([s.pred_t for s in samples])
        expected_q = torch.stack([s.pred_q for s in samples])
        assert t.shape == (batch, 3) and q.shape == (batch, 4)
        torch.testing.assert_close(t, expected_t, atol=1e-4, rtol=0)
        torch.testing.assert_close(q, expected_q, atol=1e-4, rtol=0)
        assert (q[:, 3] >= 0).all()
        torch.testing.assert_close(q.norm(dim=-1), torch.ones(batch))
    # Decoded metres: near the codec's Tz mean, not normalised units.
    assert 3.0 < float(t[:, 2].mean()) < 9.0


def test_input_shape_option_overrides_and_missing_shape_is_named(export_cli, tmp_path, capsys):
    model = trained_like_model('Rot6DPoseHead')
    checkpoint = tmp_path / 'model.pth'
    torch.save(model.state_dict(), checkpoint)  # a bare state dict works too
    config = write_config(tmp_path, 'Rot6DPoseHead', input_size=None)
    with pytest.raises(ValueError, match='pass --input-shape'):
        export_cli.main([str(config), str(checkpoint), '--out', str(tmp_path / 'a.pt2')])
    export_cli.main([str(config), str(checkpoint), '--out', str(tmp_path / 'b.pt2'),
                     '--input-shape', '4', '16', '24'])
    assert '(B, 4, 16, 24)' in capsys.readouterr().out
    inputs = torch.rand(3, 4, 16, 24, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        result = torch.export.load(tmp_path / 'b.pt2').module()(inputs)
        expected = model.predict_pose(inputs)
    torch.testing.assert_close(result, expected, atol=1e-4, rtol=0)


def test_mmengine_checkpoint_loads_and_code_in_it_is_refused(tmp_path):
    model = trained_like_model('Rot6DPoseHead')
    hub = MessageHub.get_instance('export_test')
    hub.update_scalar('train/lr', 1e-3)
    hub.update_info('eta', np.float64(12.5))
    checkpoint = tmp_path / 'epoch_3.pth'
    state = {'meta': dict(epoch=3, seed=np.int64(7)), 'state_dict': model.state_dict(),
             'message_hub': hub.state_dict()}
    torch.save(state, checkpoint)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(checkpoint, weights_only=True)
    loaded = init_model(write_config(tmp_path, 'Rot6DPoseHead'), checkpoint).state_dict()
    for name, value in model.state_dict().items():
        assert torch.equal(loaded[name], value), name

    marker = tmp_path / MARKER_NAME
    torch.save(dict(state, extra=CodeInCheckpoint(str(marker))), checkpoint)
    with pytest.raises(UnsafeCheckpointError):
        init_model(write_config(tmp_path, 'Rot6DPoseHead'), checkpoint)
    assert not marker.exists()


def test_checkpoint_without_weights_is_named(tmp_path):
    checkpoint = tmp_path / 'not_weights.pth'
    torch.save({'meta': {'epoch': 1}}, checkpoint)
    with pytest.raises(ValueError, match=r"not_weights.pth: expected a dict with a 'state_dict'"):
        init_model(write_config(tmp_path, 'Rot6DPoseHead'), checkpoint)


def test_keypoint_model_exports_its_network_and_decode_gives_the_predicted_poses(
        export_cli, tmp_path, capsys):
    """PnP runs outside torch: the program is the network (voxels → heatmaps), and
    ``head.decode`` with each window's intrinsics gives the poses ``predict`` gives (here
    placeholder poses, on the keypoints of an untrained network; test_keypoint_head.py
    checks decode against predict where PnP solves)."""
    body = str(proba2_like().save(tmp_path / 'body.json'))
    cfg = dict(type='PoseEstimator',
               backbone=dict(type='VoxelCNN', in_channels=4, channels=(8, 16, 16),
                             out_indices=(1, 2)),
               neck=dict(type='FeatureFusion', in_channels=(16, 16), out_channels=8),
               head=dict(type='KeypointHeatmapHead', in_channels=8, body_model=body))
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    checkpoint = tmp_path / 'kpt.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    config = tmp_path / 'kpt.py'
    config.write_text(f"default_scope = 'sparkpose'\nmodel = {cfg!r}\n")
    out = tmp_path / 'kpt.pt2'
    export_cli.main([str(config), str(checkpoint), '--out', str(out),
                     '--input-shape', '4', '64', '64'])
    assert 'network part; decode separately' in capsys.readouterr().out
    extra = {export_cli.META_FILE: ''}
    program = torch.export.load(out, extra_files=extra).module()
    assert 'head.decode' in json.loads(extra[export_cli.META_FILE])['outputs']['network_only']

    inputs = torch.rand(4, 4, 64, 64, generator=torch.Generator().manual_seed(3))
    cam_K = np.array([[120.0, 0, 32], [0, 120.0, 32], [0, 0, 1]])
    samples = [PoseDataSample(metainfo=dict(cam_K=cam_K * [[s], [s], [1]],
                                            input_size=(64, 64)))
               for s in (1.0, 0.8, 1.2, 1.0)]
    with torch.no_grad():
        outputs = program(inputs)
        predicted = model.predict(inputs, samples)
        torch.testing.assert_close(outputs['heatmaps'],
                                   model(inputs, mode='tensor')['heatmaps'])
    t, q = model.head.decode(outputs, cam_K=torch.tensor(np.stack([s.cam_K for s in samples]),
                                                         dtype=torch.float32),
                             input_size=torch.full((4, 2), 64.0))
    torch.testing.assert_close(t, torch.stack([s.pred_t for s in predicted]), atol=1e-4,
                               rtol=1e-5)
    torch.testing.assert_close(q, torch.stack([s.pred_q for s in predicted]), atol=1e-4,
                               rtol=0)
