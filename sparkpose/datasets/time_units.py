"""Which tick a SPADES file counts in (100 µs synthetic, 1 µs recorded), decided safely.

A wrong unit makes every window 100x too long or too short without any error, so the
unit comes from the config, the file's ``time_unit`` attribute and the 10 Hz label
spacing, and all available evidence must agree.
"""
import h5py
import numpy as np

from .format_error import SPADESFormatError

# Microseconds per file tick.
TIME_UNITS = {'100us': 100, 'us': 1}
LABEL_PERIOD_US = 100_000  # labels come at 10 Hz


def read_time_unit_attr(path: str, f: h5py.File) -> str | None:
    """The ``time_unit`` attribute of the root or ``/events`` (they must agree), or None."""
    found = {}
    for where, attrs in (('/', f.attrs), ('/events', f['events'].attrs)):
        if 'time_unit' in attrs:
            value = attrs['time_unit']
            value = value.decode() if isinstance(value, bytes) else str(value)
            if value not in TIME_UNITS:
                raise SPADESFormatError(f'{path}: attribute time_unit={value!r} of {where} is '
                                        f'not one of {sorted(TIME_UNITS)}')
            found[where] = value
    if len(set(found.values())) > 1:
        raise SPADESFormatError(f'{path}: time_unit attributes disagree: {found}')
    return next(iter(found.values()), None)


def resolve_time_unit(path: str, label_ts: np.ndarray, requested: str,
                      attribute: str | None, spacing_tol: float = 0.2) -> str:
    """Decide the tick unit of a file from the config, its attribute and its label spacing.

    All available evidence must agree: an explicit unit that contradicts the file's
    attribute or the 10 Hz label spacing is refused, as is ``'auto'`` without an attribute
    when the spacing matches neither ≈1000 ticks (100 µs) nor ≈100000 ticks (1 µs).

    Args:
        path: File name, for messages.
        label_ts: ``(N,)`` label timestamps in file ticks, increasing.
        requested: ``'auto'``, ``'100us'`` or ``'us'``.
        attribute: The file's ``time_unit`` attribute, or None.
        spacing_tol: Relative tolerance on the median label spacing.

    Returns:
        ``'100us'`` or ``'us'``.
    """
    hint = "set time_unit='100us' (synthetic files) or 'us' (recorded/test files)"
    if requested != 'auto' and attribute is not None and requested != attribute:
        raise SPADESFormatError(f'{path}: time_unit={requested!r} contradicts the file '
                                f'attribute time_unit={attribute!r}')
    detected, spacing = None, None
    if len(label_ts) >= 2:
        spacing = float(np.median(np.diff(label_ts)))
        matches = [unit for unit, tick_us in TIME_UNITS.items()
                   if abs(spacing * tick_us - LABEL_PERIOD_US) <= spacing_tol * LABEL_PERIOD_US]
        detected = matches[0] if len(matches) == 1 else None
    unit = requested if requested != 'auto' else attribute or detected
    if unit is None:
        why = (f'median label spacing is {spacing:g} ticks' if spacing is not None
               else f'it has {len(label_ts)} label(s)')
        raise SPADESFormatError(
            f'{path}: cannot tell the timestamp unit ({why}; 10 Hz labels are 1000 ticks '
            f'apart in 100 µs ticks, 100000 in 1 µs ticks); {hint}')
    if detected is not None and detected != unit:
        raise SPADESFormatError(
            f'{path}: time_unit {unit!r} contradicts the label spacing ({spacing:g} ticks '
            f'median, i.e. 10 Hz in {detected!r} ticks); a wrong unit makes windows 100x off')
    return unit
