import json

import pytest


def test_benchmark_generator_json(load_tool, tmp_path):
    tool = load_tool('analysis_tools/benchmark_generator.py')
    out = tmp_path / 'bench.json'
    result = tool.main(['--resolution', '160x90', '--duration', '0.3', '--num-sequences', '2',
                        '--profile', '--json', str(out)])
    assert json.loads(out.read_text()) == result
    assert result['num_windows'] == 6 and result['resolution'] == [160, 90]
    assert result['cpu_s'] > 0
    assert result['cpu_s_per_simulated_s'] == pytest.approx(result['cpu_s'] / 0.6)
    assert result['cpu_s_per_window'] == pytest.approx(result['cpu_s'] / 6)
    assert 0 < result['events_per_window_p10'] <= result['events_per_window_median'] \
        <= result['events_per_window_p90']
    assert 0.3 < result['on_fraction'] < 0.8 and result['edge_sharpness'] >= 1
    assert result['peak_rss_mb'] >= result['import_rss_mb'] > 0
    shares = [row['share'] for row in result['profile']]
    assert sum(shares) == pytest.approx(1) and result['profile'][-1]['phase'].startswith('other')
