"""sparkpose: 6-DoF spacecraft pose estimation from event cameras, on mmengine."""
__version__ = '0.1.0'
