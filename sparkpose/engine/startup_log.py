"""A short start-up log: the environment dump, the whole config and the hook order go to the
log file only, unless the log level is DEBUG (``tools/train.py --verbose``)."""
import logging

# Messages of mmengine's Runner set-up that are kept in the log file, not on the console.
_FILE_ONLY_PREFIXES = (
    '\n' + '-' * 60 + '\nSystem environment:',
    'Config:\n',
    'Hooks will be executed in the following order',
    'Distributed training is not used, all SyncBatchNorm',
)
# mmengine's CheckpointHook always builds its deprecated FileClient, which warns about itself
# on every run; there is nothing a user could change, so these are dropped everywhere.
_MMENGINE_SELF_DEPRECATIONS = (
    '"FileClient" will be deprecated in future',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)


class _DropMessages(logging.Filter):
    """Drop records whose message starts with one of ``prefixes``."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefixes)


def shorten_startup_log(logger: logging.Logger, log_file: str, verbose: bool) -> None:
    """Install the filters on ``logger``'s handlers and say where the full record is.

    Args:
        logger: The Runner's ``MMLogger``.
        log_file: Its log file, which keeps everything but the mmengine self-deprecations.
        verbose: Keep the full set-up record on the console too.
    """
    if any(isinstance(f, _DropMessages) for f in logger.filters):
        return  # the logger instance is shared: once per process is enough
    logger.addFilter(_DropMessages(_MMENGINE_SELF_DEPRECATIONS))
    if verbose:
        return
    for handler in logger.handlers:
        if not isinstance(handler, logging.FileHandler):
            handler.addFilter(_DropMessages(_FILE_ONLY_PREFIXES))
    logger.info(f'Environment, full config and hook order: {log_file} '
                f'(--verbose prints them here)')
