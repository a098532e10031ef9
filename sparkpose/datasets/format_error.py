"""The error raised for a SPADES file that breaks the layout or conventions."""


class SPADESFormatError(ValueError):
    """A SPADES file does not follow the layout or conventions of docs/data_format.md."""
