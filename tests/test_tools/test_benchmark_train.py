"""tools/analysis_tools/benchmark_train.py: a real config at tiny sizes, figures that add up."""
import json
from pathlib import Path

import pytest

CONFIGS = Path(__file__).parents[2] / 'configs'


@pytest.mark.parametrize('config, options', [
    ('voxelcnn/rot6d_voxelcnn_1xb32-30e_synthetic-128x128.py', []),
    # Full resolution, grids built by the data preprocessor from the events (on_device).
    ('eventresnet/quat_eventresnet_1xb16-30e_spades-1280x720.py',
     # (16 channels: torch 2.14's CPU backward of a channels-last 1x1 stride-2 conv with
     # fewer than 16 channels corrupts the heap.)
     ['--cfg-options', 'model.backbone.stage_channels=[16,16,16,16]', 'model.head.in_channels=16',
      'model.head.hidden_dim=8']),
], ids=['voxelcnn-128', 'eventresnet-1280x720-on-device'])
def test_reports_throughput_split_and_peak_memory(config, options, load_tool,
                                                  spades_root_factory, tmp_path, capsys):
    root = spades_root_factory(('RT000', 'RT001'), num_labels=6)
    out = tmp_path / 'bench.json'
    code = load_tool('analysis_tools/benchmark_train.py').main(
        [str(CONFIGS / config), '--data-root', str(root), '--batch-size', '2',
         '--num-workers', '0', '--warmup', '1', '--iters', '3', '--json', str(out),
         '--goal-samples-per-s', '1e9', *options])
    assert code == 1  # the impossible goal fails, and says so
    result = json.loads(out.read_text())
    assert result['iterations'] == 3 and result['samples'] == 6
    assert result['samples_per_s'] > 0 and result['device'] == 'cpu'
    fractions = result['fractions']
    assert set(fractions) == {'data_wait', 'preprocess', 'forward_backward', 'optimizer',
                              'other'}
    assert sum(fractions.values()) == pytest.approx(1.0, abs=1e-9)
    assert all(value >= 0 for value in fractions.values())
    assert fractions['forward_backward'] > 0.05 and fractions['optimizer'] > 0
    assert sum(result['ms_per_iter_by_phase'].values()) == pytest.approx(result['ms_per_iter'])
    assert result['peak_memory_kind'] == 'cpu_peak_rss' and result['peak_memory_mib'] > 50
    printed = capsys.readouterr().out
    assert 'forward_backward' in printed and 'FAIL' in printed


def test_data_root_points_the_body_model_there_too(load_tool, synthetic_root, tmp_path):
    """``--data-root`` as in train.py: the keypoint head reads the body model beside the
    data, not the config's ``data/spades/body.json``."""
    tool = load_tool('analysis_tools/benchmark_train.py')
    args = tool.parse_args([str(CONFIGS / 'keypoint/kpt_efficientnet-b0-fusion_1xb64-60e_'
                                'spades-crop256.py'), '--data-root', str(synthetic_root)])
    cfg = tool.build_config(args, str(tmp_path))
    assert cfg.model.head.body_model == str(synthetic_root / 'body.json')
    assert cfg.train_dataloader.dataset.data_root == str(synthetic_root) + '/'
