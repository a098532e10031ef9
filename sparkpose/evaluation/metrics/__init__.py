from .dump_pose_predictions import DumpPosePredictions
from .filter_report import raw_and_filtered_table
from .pose_metric import PoseMetric

__all__ = ['DumpPosePredictions', 'PoseMetric', 'raw_and_filtered_table']
