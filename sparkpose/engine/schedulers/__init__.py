"""Parameter schedulers."""
from .cosine_warm_restarts_lr import CosineAnnealingWarmRestartsLR, restart_periods

__all__ = ['CosineAnnealingWarmRestartsLR', 'restart_periods']
