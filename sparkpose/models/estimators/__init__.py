from .pose_estimator import PoseEstimator

__all__ = ['PoseEstimator']
