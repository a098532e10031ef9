"""tools/test.py: --out adds the CSV dump to whichever evaluator form the config uses."""
import pytest
from mmengine.config import Config


@pytest.mark.parametrize('evaluator, expected', [
    (dict(type='PoseMetric'), [dict(type='PoseMetric')]),
    ([dict(type='PoseMetric')], [dict(type='PoseMetric')]),
    (dict(type='Evaluator', metrics=dict(type='PoseMetric')), None),
])
def test_out_appends_the_dump_metric(load_tool, evaluator, expected):
    cfg = Config(dict(test_evaluator=evaluator))
    load_tool('test.py').add_dump_metric(cfg, 'preds.csv')
    dump = dict(type='DumpPosePredictions', out_file='preds.csv')
    if expected is None:  # an Evaluator config: the metric goes into its list
        assert cfg.test_evaluator.to_dict() == dict(type='Evaluator',
                                                    metrics=[dict(type='PoseMetric'), dump])
    else:
        assert [dict(m) for m in cfg.test_evaluator] == [*expected, dump]


def test_out_must_be_csv(load_tool):
    with pytest.raises(ValueError, match='.csv'):
        load_tool('test.py').add_dump_metric(Config(dict(test_evaluator=[])), 'preds.json')
