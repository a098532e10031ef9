"""DumpPosePredictions writes the expected CSV."""
import torch

from sparkpose.registry import METRICS
from sparkpose.structures import PoseDataSample


def sample(seq_id, index, timestamp, pose, gt=None):
    data_sample = PoseDataSample(metainfo=dict(seq_id=seq_id, label_index=index,
                                               timestamp=timestamp))
    data_sample.pred_t = torch.tensor(pose[:3], dtype=torch.float64)
    data_sample.pred_q = torch.tensor(pose[3:], dtype=torch.float64)
    if gt is not None:
        data_sample.gt_t = torch.tensor(gt[:3], dtype=torch.float64)
        data_sample.gt_q = torch.tensor(gt[3:], dtype=torch.float64)
    return data_sample


def dump(tmp_path, samples):
    out_file = tmp_path / 'sub' / 'predictions.csv'
    metric = METRICS.build(dict(type='DumpPosePredictions', out_file=str(out_file)))
    metric.process({}, [s.to_dict() for s in samples[:2]])
    metric.process({}, [s.to_dict() for s in samples[2:]])
    assert metric.evaluate(len(samples)) == {}
    return out_file.read_text().splitlines()


def test_rows_sorted_by_sequence_and_index_with_ground_truth(tmp_path):
    samples = [
        sample('RT002', 0, 500, [0.5, -0.25, 6.0, 0.0, 0.0, 0.0, 1.0],
               gt=[0.5, -0.25, 6.125, 0.0, 0.0, 0.0, 1.0]),
        sample('RT001', 12, 1200, [1.0, 2.0, 3.0, 0.5, 0.5, 0.5, 0.5]),
        sample('RT001', 3, 300, [0.1, 0.2, 0.3, 0.0, 1.0, 0.0, 0.0],
               gt=[0.1, 0.2, 0.3, 0.0, 1.0, 0.0, 0.0]),
    ]
    assert dump(tmp_path, samples) == [
        'id,timestamp,Tx,Ty,Tz,Qx,Qy,Qz,Qw,gt_Tx,gt_Ty,gt_Tz,gt_Qx,gt_Qy,gt_Qz,gt_Qw',
        'RT001_003,300,0.1,0.2,0.3,0,1,0,0,0.1,0.2,0.3,0,1,0,0',
        'RT001_012,1200,1,2,3,0.5,0.5,0.5,0.5,,,,,,,',
        'RT002_000,500,0.5,-0.25,6,0,0,0,1,0.5,-0.25,6.125,0,0,0,1',
    ]


def test_without_ground_truth_only_prediction_columns(tmp_path):
    samples = [sample('RT901', 1, 100000, [0.0, 0.0, 7.5, 0.0, 0.0, 0.0, 1.0]),
               sample('RT901', 0, 0, [0.0, 0.0, 7.25, 0.0, 0.0, 0.0, 1.0])]
    assert dump(tmp_path, samples) == [
        'id,timestamp,Tx,Ty,Tz,Qx,Qy,Qz,Qw',
        'RT901_000,0,0,0,7.25,0,0,0,1',
        'RT901_001,100000,0,0,7.5,0,0,0,1',
    ]
