import json

import numpy as np
import pytest

CASES = ['take-vs-mask', 'grid-max', 'from-dense', 'h5-reopen', 'h5-slice', 'shared-fill',
         'cv2-import']


def test_benchmark_micro_times_each_case_and_writes_json(load_tool, tmp_path):
    tool = load_tool('analysis_tools/benchmark_micro.py')
    out = tmp_path / 'micro.json'
    result = tool.main(['--cases', *CASES, '--repeats', '1', '--number', '2',
                        '--json', str(out)])
    assert json.loads(out.read_text()) == result
    rows = {row['case']: row for row in result['rows']}
    assert list(rows) == CASES
    assert all(row['ours_ms'] > 0 for row in rows.values())
    for name in ('take-vs-mask', 'from-dense', 'h5-reopen', 'h5-slice', 'shared-fill'):
        assert rows[name]['speedup'] == pytest.approx(rows[name]['plain_ms']
                                                      / rows[name]['ours_ms'])
    assert rows['grid-max']['plain_ms'] is None and rows['cv2-import']['speedup'] is None


def test_benchmark_micro_refuses_ways_that_disagree(load_tool, monkeypatch):
    tool = load_tool('analysis_tools/benchmark_micro.py')
    monkeypatch.setitem(tool.CASES, 'take-vs-mask',
                        lambda rng: (lambda: [np.zeros(3)], lambda: [np.ones(3)]))
    with pytest.raises(RuntimeError, match='take-vs-mask: the two ways disagree'):
        tool.main(['--cases', 'take-vs-mask', '--repeats', '1', '--number', '1'])
