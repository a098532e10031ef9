"""The error raised for a SPADES file that breaks the layout or conventions, or cannot be read."""
import os


class SPADESFormatError(ValueError):
    """A SPADES file does not follow the layout or conventions of docs/data_format.md."""


def unreadable_file_error(path: str, err: OSError) -> SPADESFormatError:
    """One line naming ``path`` and what h5py found wrong (raise it ``from err``).

    h5py's own messages (``truncated file: eof = …``, ``file signature not found``) never
    name the file; with hundreds of downloaded files the name is what the user needs.
    """
    size = os.path.getsize(path) if os.path.isfile(path) else None
    reason = str(err).split('(', 1)[-1].rstrip(')') if '(' in str(err) else str(err)
    what = ('it is empty (0 bytes)' if size == 0 else
            f'{reason}; {size} bytes: truncated, damaged or not HDF5?')
    return SPADESFormatError(f'{path}: not a readable HDF5 file: {what} (re-download it or '
                             f'remove it from the split)')
