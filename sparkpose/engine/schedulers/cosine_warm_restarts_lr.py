"""Cosine annealing with warm restarts, parameterised like PyTorch's scheduler."""
import math

from mmengine.optim.scheduler import CosineRestartLR
from mmengine.optim.scheduler.param_scheduler import INF

from sparkpose.registry import PARAM_SCHEDULERS


def restart_periods(first_period: int, period_mult: int, total_steps: int) -> list[int]:
    """Periods ``T_0, T_0*T_mult, T_0*T_mult**2, ...`` until they cover ``total_steps``."""
    periods = [first_period]
    while sum(periods) < total_steps:
        periods.append(periods[-1] * period_mult)
    return periods


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingWarmRestartsLR(CosineRestartLR):
    """:class:`torch.optim.lr_scheduler.CosineAnnealingWarmRestarts` (``T_0``, ``T_mult``) on
    mmengine's :class:`~mmengine.optim.CosineRestartLR`.

    Alone, it gives PyTorch's learning rates, ``eta_min + (base - eta_min) * (1 + cos(pi *
    t / T_i)) / 2`` (checked in the tests). Two traps of ``CosineRestartLR`` are removed:

    - it needs an explicit ``periods`` list and, past its sum, silently holds the last
      (near-``eta_min``) value; here the periods are generated to cover ``[begin, end)``.
    - it sets the absolute rate ``base`` at every restart (and at its first step), which
      undoes a warm-up running at the same time (``LinearLR`` from ``begin=0``); here each
      step multiplies the current rate by the closed-form ratio, so overlapping schedulers
      compose multiplicatively like mmengine's other (chainable) schedulers.

    Args:
        optimizer: The wrapped optimizer (filled in by the runner).
        T_0: Length of the first period (epochs if ``by_epoch``, else iterations).
        T_mult: Factor by which each period is longer than the previous one.
        eta_min: Minimum learning rate (0 if neither this nor ``eta_min_ratio`` is set).
        eta_min_ratio: Minimum as a fraction of each group's initial learning rate; use it
            with per-group rates (``paramwise_cfg`` ``lr_mult``), which an absolute
            ``eta_min`` would pull together.
        begin: First step (epoch/iteration) of the schedule.
        end: Step at which the schedule ends (the runner sets ``max_epochs`` by default).
        by_epoch: Whether steps are epochs.
        last_step: Step to resume from; -1 starts afresh.
        verbose: Print the learning rate at each update.
    """

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float | None = None,
                 eta_min_ratio: float | None = None, begin: int = 0, end: int = INF,
                 by_epoch: bool = True, last_step: int = -1, verbose: bool = False) -> None:
        if T_0 < 1 or T_mult < 1 or int(T_0) != T_0 or int(T_mult) != T_mult:
            raise ValueError(f'CosineAnnealingWarmRestartsLR: T_0 and T_mult must be integers '
                             f'>= 1, got T_0={T_0}, T_mult={T_mult}')
        if end == INF:
            raise ValueError('CosineAnnealingWarmRestartsLR: set `end` (or build it through '
                             'the runner, which defaults it to max_epochs/max_iters)')
        if eta_min is None and eta_min_ratio is None:
            eta_min = 0.0
        periods = restart_periods(int(T_0), int(T_mult), end - begin)
        super().__init__(optimizer, periods=periods, restart_weights=[1.0] * len(periods),
                         eta_min=eta_min, eta_min_ratio=eta_min_ratio, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)

    def _closed_form(self, step: int, base_value: float) -> float:
        """PyTorch's rate at ``step`` (counted from ``begin``) for a group starting at
        ``base_value``."""
        eta_min = base_value * self.eta_min_ratio if self.eta_min is None else self.eta_min
        period = next(i for i, total in enumerate(self.cumulative_periods) if step < total)
        start = self.cumulative_periods[period - 1] if period else 0
        progress = (step - start) / self.periods[period]
        return eta_min + (base_value - eta_min) * (1 + math.cos(math.pi * progress)) / 2

    def _get_value(self) -> list[float]:
        """Current rates times the closed-form ratio between this step and the last."""
        values = []
        for base, group in zip(self.base_values, self.optimizer.param_groups):
            current = group[self.param_name]
            # At the first step keep what is there (e.g. a warm-up's first factor).
            previous = self._closed_form(self.last_step - 1, base) if self.last_step else 0.0
            values.append(current * self._closed_form(self.last_step, base) / previous
                          if previous else current)
        return values

    @classmethod
    def build_iter_from_epoch(cls, *args, T_0: int, begin: int = 0, end: int = INF,
                              by_epoch: bool = True, epoch_length: int | None = None,
                              **kwargs) -> 'CosineAnnealingWarmRestartsLR':
        """Build the iteration-based equivalent of an epoch-based config
        (``convert_to_iter_based=True``): the cosine then advances every iteration."""
        if not by_epoch or not epoch_length:
            raise ValueError('CosineAnnealingWarmRestartsLR: convert_to_iter_based needs '
                             f'by_epoch=True and an epoch length, got by_epoch={by_epoch}, '
                             f'epoch_length={epoch_length}')
        return cls(*args, T_0=T_0 * epoch_length, begin=int(begin * epoch_length),
                   end=end if end == INF else int(end * epoch_length), by_epoch=False, **kwargs)
