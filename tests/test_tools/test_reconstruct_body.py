"""reconstruct_body.py on a small generated set: writes a loadable box-less body and picture."""
import json

import numpy as np
import pytest

from sparkpose.structures.body_model import load_body_model

TOOL = 'analysis_tools/reconstruct_body.py'


def test_clustered_events_drop_isolated_and_hot_pixels(load_tool):
    tool = load_tool(TOOL)
    x = np.array([10, 11, 12, 13, 50, 50, 50, 90])
    y = np.array([5, 5, 5, 5, 40, 40, 40, 2])
    keep = tool.clustered_events(x, y, (100, 60), min_neighbours=1)
    np.testing.assert_array_equal(keep, [1, 1, 1, 1, 0, 0, 0, 0])


def test_tool_writes_body_json_and_three_views(synthetic_root, load_tool, tmp_path):
    tool = load_tool(TOOL)
    out = tmp_path / 'rec' / 'body.json'
    stats = tool.main([str(synthetic_root), '--out', str(out), '--voxel', '0.05',
                       '--max-events-per-window', '2000', '--num-keypoints', '11',
                       '--reference', str(synthetic_root / 'body.json')])
    body = load_body_model(str(out))
    assert body.boxes == () and len(body.points) == stats['points'] > 0
    assert len(body.keypoints) == min(11, len(body.points))
    np.testing.assert_array_equal(body.symmetries[0], np.eye(3))
    assert out.with_suffix('.png').is_file()
    assert json.loads(out.read_text())['name'] == 'reconstructed'
    assert 0 <= stats['points_within_3cm'] <= 1


def test_spread_takes_evenly_spaced_files_first_and_last_included(load_tool):
    spread = load_tool(TOOL).spread
    names = [f'RT{i:03d}' for i in range(10)]
    assert spread(names, 4) == ['RT000', 'RT003', 'RT006', 'RT009']
    assert spread(names, 1) == ['RT000']
    assert spread(names, None) == spread(names, 10) == spread(names, 50) == names
    with pytest.raises(ValueError, match='at least 1'):
        spread(names, 0)


def test_max_files_reads_fewer_files_and_reruns_identically(synthetic_root, load_tool, tmp_path):
    tool = load_tool(TOOL)
    options = ['--voxel', '0.05', '--max-events-per-window', '2000', '--num-keypoints', '11']
    full = tool.main([str(synthetic_root), '--out', str(tmp_path / 'all.json'), *options])
    runs = [tool.main([str(synthetic_root), '--out', str(tmp_path / f'{i}.json'), *options,
                       '--max-files', '2']) for i in range(2)]
    assert full['files'] == 3 and runs[0]['files'] == 2
    assert 0 < runs[0]['events'] < full['events']
    assert (tmp_path / '0.json').read_text() == (tmp_path / '1.json').read_text()
