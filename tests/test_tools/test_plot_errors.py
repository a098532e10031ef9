"""tools/analysis_tools/plot_errors.py on CSVs written by the real DumpPosePredictions."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sparkpose.registry import METRICS


def _write_predictions(path: Path, with_gt: bool = True, ticks_per_label: int = 1000) -> None:
    """RT001: 5 labels whose position error is 0.1·i m and rotation error 10·i degrees;
    RT000: 3 labels with exact predictions."""
    dump = METRICS.build(dict(type='DumpPosePredictions', out_file=str(path)))
    samples = []
    for seq, count, scale in (('RT001', 5, 1.0), ('RT000', 3, 0.0)):
        for i in range(count):
            gt_t, gt_q = torch.tensor([0.0, 0.0, 8.0]), torch.tensor([0.0, 0.0, 0.0, 1.0])
            half = math.radians(10 * i * scale) / 2  # rotation about z by 10·i degrees
            sample = dict(seq_id=seq, label_index=i, timestamp=(i + 1) * ticks_per_label,
                          pred_t=gt_t + torch.tensor([0.1 * i * scale, 0.0, 0.0]),
                          pred_q=torch.tensor([0.0, 0.0, math.sin(half), math.cos(half)]))
            if with_gt:
                sample.update(gt_t=gt_t, gt_q=gt_q)
            samples.append(sample)
    dump.process({}, samples)
    dump.compute_metrics(dump.results)


def test_one_figure_per_sequence_with_the_errors(load_tool, tmp_path):
    tool = load_tool('analysis_tools/plot_errors.py')
    csv = tmp_path / 'predictions.csv'
    _write_predictions(csv)
    errors = tool.read_errors(csv)
    assert list(errors) == ['RT000', 'RT001']
    np.testing.assert_allclose(errors['RT001']['pos_err_m'], 0.1 * np.arange(5), atol=1e-6)
    np.testing.assert_allclose(errors['RT001']['rot_err_deg'], 10.0 * np.arange(5), atol=1e-3)
    np.testing.assert_allclose(errors['RT001']['time_s'], 0.1 * np.arange(1, 6))  # 100 µs ticks
    np.testing.assert_allclose(errors['RT000']['pos_err_m'], 0.0, atol=1e-6)

    written = tool.main([str(csv), '--out-dir', str(tmp_path / 'plots')])
    assert sorted(p.name for p in (tmp_path / 'plots').iterdir()) == ['RT000.png', 'RT001.png']
    assert written == [tmp_path / 'plots' / 'RT000.png', tmp_path / 'plots' / 'RT001.png']
    figure = np.asarray(Image.open(written[1]).convert('RGB'))
    assert figure.shape == (500, 800, 3)
    # The rotation curve is drawn in tab:red (214, 39, 40) and the position curve in tab:blue.
    assert np.all(figure == (214, 39, 40), axis=-1).sum() > 200
    assert np.all(figure == (31, 119, 180), axis=-1).sum() > 200


def test_time_unit_from_the_label_spacing_or_the_option(load_tool, tmp_path):
    tool = load_tool('analysis_tools/plot_errors.py')
    csv = tmp_path / 'recorded.csv'
    _write_predictions(csv, ticks_per_label=100_000)  # 1 µs ticks, as in recorded files
    np.testing.assert_allclose(tool.read_errors(csv)['RT001']['time_s'], 0.1 * np.arange(1, 6))
    with pytest.raises(ValueError, match="contradicts the label spacing"):
        tool.read_errors(csv, time_unit='100us')


def test_no_ground_truth_is_a_clear_error(load_tool, tmp_path):
    tool = load_tool('analysis_tools/plot_errors.py')
    csv = tmp_path / 'test_split.csv'
    _write_predictions(csv, with_gt=False)
    with pytest.raises(ValueError, match=r'test_split\.csv: no ground-truth columns \(gt_Tx'):
        tool.main([str(csv), '--out-dir', str(tmp_path / 'plots')])
    assert not (tmp_path / 'plots').exists()

    csv.write_text('id,Tx\nRT000_000,1\n')
    with pytest.raises(ValueError, match=r"columns \['timestamp', 'Ty'"):
        tool.read_errors(csv)
