"""Write files atomically, so that a crash while saving never leaves a half-written checkpoint.

The bytes go to a temporary file in the destination folder, are flushed to disk (fsync),
and the file is then renamed over the destination (``os.replace`` is atomic on POSIX and
Windows); the folder is fsynced so that the rename survives a power loss. A reader sees
either the old file or the new one, never a mix. A process killed mid-write leaves only a
hidden ``.<name>.<random>.tmp`` file next to the destination, which
:func:`remove_stale_temporaries` deletes at the next start.
"""
import contextlib
import os
import os.path as osp
import re
import uuid
from pathlib import Path

from mmengine.fileio import LocalBackend, register_backend

ATOMIC_BACKEND = 'atomic_local'
# ``.<name>.<12 hex digits>.tmp``, as atomic_write_bytes names its temporary files.
_TEMPORARY = re.compile(r'\..+\.[0-9a-f]{12}\.tmp')


def _fsync_directory(directory: str) -> None:
    """Persist a rename in ``directory`` (no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(data: bytes, path: str | Path) -> None:
    """Write ``data`` to ``path`` atomically (parent folders are created).

    Args:
        data: The file content.
        path: Destination; replaced only once ``data`` is entirely on disk.
    """
    path = osp.abspath(path)
    directory = osp.dirname(path)
    os.makedirs(directory, exist_ok=True)
    # Same folder as the destination: os.replace cannot cross file systems. Hidden, unique.
    temporary = osp.join(directory, f'.{osp.basename(path)}.{uuid.uuid4().hex[:12]}.tmp')
    try:
        with open(temporary, 'xb') as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        if isinstance(err, OSError):  # e.g. disk full: the library's message has no path
            message = (f'{path}: could not write ({err.strerror or err}); the previous file, '
                       f'if any, is unchanged')
            raise (OSError(message) if err.errno is None else OSError(err.errno, message)
                   ) from err
        raise
    _fsync_directory(directory)


def remove_stale_temporaries(directory: str | Path) -> list[str]:
    """Delete the temporary files that interrupted :func:`atomic_write_bytes` calls left.

    Call it only where no save can be under way (at start-up, in the one process that
    saves).

    Returns:
        The paths removed.
    """
    if not osp.isdir(directory):
        return []
    removed = []
    for name in sorted(os.listdir(directory)):
        path = osp.join(directory, name)
        if _TEMPORARY.fullmatch(name) and osp.isfile(path):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
                removed.append(path)
    return removed


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put``/``put_text``.

    Select it with ``backend_args=dict(backend='atomic_local')`` (``SparkposeRunner`` does so
    for every local checkpoint it saves).
    """

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write bytes to ``filepath`` atomically."""
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        atomic_write_bytes(obj.encode(encoding), filepath)
