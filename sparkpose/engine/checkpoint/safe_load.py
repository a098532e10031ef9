"""Load checkpoints without ever running code from the file.

``torch.load(weights_only=True)`` unpickles tensors and plain Python containers only. An
mmengine checkpoint also holds the message hub's ``HistoryBuffer`` objects (numpy arrays
inside, and references to ``HistoryBuffer.min/max/current/mean`` pickled through
``builtins.getattr``) and numpy scalars in the runtime info. The allow-list below names
exactly those, found by saving a real checkpoint and listing its pickle globals; it is
active only inside :func:`safe_checkpoint_globals` (no global side effect).
``builtins.getattr`` is *not* allowed: its name is mapped to a function that resolves only
the four ``HistoryBuffer`` statistics.
"""
import os.path as osp
import pickle
import pickletools
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from ..mmengine_compat import history_buffer_statistics

try:
    from numpy._core import multiarray
except ImportError:  # numpy < 2
    from numpy.core import multiarray

HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')
# dtypes of the arrays and scalars mmengine stores (HistoryBuffer: float64 values, int64
# counts; metric values and ETA: numpy floats/ints/bools).
_NUMPY_DTYPES = (np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_)


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint asked for something outside the safe-load allow-list and was refused."""


def _history_buffer_statistic(owner: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while unpickling: ``HistoryBuffer.<statistic>`` only."""
    if owner is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed (only HistoryBuffer statistics '
        f'{HISTORY_BUFFER_STATISTICS})')


def _safe_globals() -> list:
    """The allow-list: ``(object, 'module.name as pickled')`` pairs."""
    pairs = [
        (HistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
        (_history_buffer_statistic, 'builtins.getattr'),
        (np.ndarray, 'numpy.ndarray'),
        (np.dtype, 'numpy.dtype'),
    ]
    # numpy >= 2 pickles numpy._core.*, numpy 1.x wrote numpy.core.*: accept both spellings.
    for package in ('numpy._core', 'numpy.core'):
        pairs += [(multiarray._reconstruct, f'{package}.multiarray._reconstruct'),
                  (multiarray.scalar, f'{package}.multiarray.scalar')]
    # Unpickling a dtype ends in BUILD on an instance of its DType class (numpy >= 1.25).
    for dtype in _NUMPY_DTYPES:
        dtype_class = type(np.dtype(dtype))
        pairs.append((dtype_class, f'{dtype_class.__module__}.{dtype_class.__name__}'))
    return pairs


@contextmanager
def safe_checkpoint_globals() -> Iterator[None]:
    """Allow the classes of mmengine checkpoints for ``weights_only`` loads inside the block.

    ``HistoryBuffer.__setstate__`` writes the file's ``statistics_methods`` into a dict
    shared by the class; it is restored on exit so that a crafted file cannot replace the
    statistics every later buffer uses.
    """
    statistics = history_buffer_statistics()
    saved_statistics = dict(statistics)
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            yield
    finally:
        statistics.clear()
        statistics.update(
            {name: getattr(HistoryBuffer, name) for name in HISTORY_BUFFER_STATISTICS})
        statistics.update(saved_statistics)


def _pickle_globals(path: str) -> list[str]:
    """``module.name`` of every global a pickle (or a ``torch.save`` zip's data.pkl) names."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            member = next((n for n in archive.namelist() if n.endswith('data.pkl')), None)
            data = archive.read(member) if member else b''
    else:
        with open(path, 'rb') as file:
            data = file.read()
    names, strings = [], []
    try:
        for opcode, arg, _ in pickletools.genops(data):
            if opcode.name == 'GLOBAL':
                names.append(arg.replace(' ', '.'))
            elif opcode.name == 'STACK_GLOBAL' and len(strings) >= 2:
                names.append(f'{strings[-2]}.{strings[-1]}')
            elif isinstance(arg, str):
                strings.append(arg)
    except (ValueError, pickle.UnpicklingError):
        pass  # a damaged pickle: report the globals read so far
    return list(dict.fromkeys(names))


def _looks_damaged(path: str, message: str) -> bool:
    """Random or overwritten bytes: no zip container, and no class named anywhere."""
    return ('GLOBAL' not in message and not zipfile.is_zipfile(path)
            and not _pickle_globals(path))


def _rejection(path: str, message: str) -> str:
    """What was rejected, from torch's weights-only error or else the file's globals."""
    found = re.search(r'GLOBAL (\S+)', message)
    if found:
        return f'it references {found.group(1)}, which is not on the allow-list'
    found = re.search(r'WeightsUnpickler error:\s*(.+)', message)
    if found and not found.group(1).startswith('Unsupported operand'):
        return found.group(1).strip()
    # An opcode torch.save never writes (pickle protocol > 2): name the file's globals.
    names = _pickle_globals(path)
    if names:
        return f'it is not a weights-only pickle (it references {", ".join(names)})'
    return message.strip().splitlines()[-1]


def load_checkpoint_safely(filename: str, map_location: Any = None) -> Any:
    """Load a local checkpoint file with ``weights_only=True`` and the mmengine allow-list.

    Args:
        filename: Path of a local checkpoint (``~`` is expanded). URIs are refused: a
            download would go through loaders this function does not control.
        map_location: As for :func:`torch.load` (e.g. ``'cpu'``).

    Returns:
        The unpickled object (for mmengine checkpoints a dict with ``meta``,
        ``state_dict``, ``message_hub``, ``optimizer``, ``param_schedulers``...).

    Raises:
        RuntimeError: The file is not a readable checkpoint (e.g. truncated).
        UnsafeCheckpointError: The file needs a global outside the allow-list (e.g. a
            pickle whose ``__reduce__`` calls ``os.system``); nothing from it was run.
        FileNotFoundError: No such file.
        ValueError: ``filename`` is a URI.
    """
    path = osp.expanduser(str(filename))
    if re.match(r'^[A-Za-z][\w+.-]*://', path):
        raise ValueError(f'{filename}: only local checkpoint files can be loaded safely; '
                         'download it and pass the local path')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: checkpoint file not found')
    try:
        with safe_checkpoint_globals():
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if _looks_damaged(path, str(error)):
            raise RuntimeError(f'{path}: not a readable checkpoint (damaged: neither a '
                               'torch.save zip file nor a pickle naming any class); save or '
                               'copy it again') from None
        raise UnsafeCheckpointError(
            f'{path}: refused to load this checkpoint: {_rejection(path, str(error))}. Loading '
            'a checkpoint never runs code from the file; only tensors, plain Python values, '
            'numpy arrays and mmengine HistoryBuffers are allowed.') from None
    except (RuntimeError, OSError, EOFError, ValueError) as error:
        raise RuntimeError(f'{path}: not a readable checkpoint (truncated or corrupt?): '
                           f'{error}') from error


def find_unsafe_globals(filename: str) -> list[str]:
    """Pickle globals of a ``torch.save`` zip file that :func:`load_checkpoint_safely` refuses.

    A quick scan of the pickle opcodes (tensor data is not read); an empty list means the
    file names no class outside the allow-list.
    """
    with safe_checkpoint_globals():
        return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(filename))
