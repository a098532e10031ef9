from .dump_pose_predictions import DumpPosePredictions
from .pose_metric import PoseMetric

__all__ = ['DumpPosePredictions', 'PoseMetric']
