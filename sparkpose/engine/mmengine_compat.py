"""Every use of mmengine's private API in sparkpose, in one place.

sparkpose extends mmengine where it offers no public hook: the Runner's auto-resume,
checkpoint loading and compilation (:class:`~sparkpose.engine.SparkposeRunner`) and the
statistics that
``HistoryBuffer`` keeps in a class-wide dict (:mod:`.checkpoint.safe_load`). Private names
change between mmengine releases without notice, so no other module of sparkpose touches
one: they are reached through the functions below, and :data:`PRIVATE_API` lists them.
``tests/test_engine/test_mmengine_compat.py`` checks that the installed mmengine is in
:data:`SUPPORTED_VERSIONS` (the range ``setup.cfg`` pins) and has every name listed, so an
upgrade fails there, not in the middle of a run.
"""
from collections.abc import Callable

from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from torch import nn

# The mmengine releases this module is written against (a pip version specifier).
SUPPORTED_VERSIONS = '>=0.10.7,<0.11'

# Where each private name lives; Runner's are instance attributes set in its __init__.
PRIVATE_API = {
    'mmengine.runner.checkpoint': ('_load_checkpoint_to_model',),
    'mmengine.runner.Runner': ('_maybe_compile',),
    'mmengine.logging.HistoryBuffer': ('_statistics_methods',),
    'mmengine.runner.Runner (instance)': ('_resume', '_load_from', '_has_loaded'),
}


def auto_resume_pending(runner: Runner) -> bool:
    """Whether ``runner`` was asked to resume (``resume=True``) without ``load_from`` and
    has loaded nothing yet: mmengine would then resume from ``last_checkpoint`` alone."""
    return runner._resume and runner._load_from is None and not runner._has_loaded


def set_checkpoint_to_load(runner: Runner, path: str | None) -> None:
    """Make ``runner.load_or_resume`` load (or resume from) ``path``."""
    runner._load_from = path


def is_resuming(runner: Runner) -> bool:
    """Whether ``runner`` resumes training (``resume=True``) rather than only loading."""
    return runner._resume


def load_into_model(runner: Runner, model: nn.Module, checkpoint: dict, strict: bool,
                    revise_keys: list) -> dict:
    """Copy ``checkpoint``'s state dict into ``model`` as ``Runner.load_checkpoint`` does
    (``revise_keys``: ``(pattern, replacement)`` pairs applied to the keys first), and
    mark ``runner`` as loaded so that ``load_or_resume`` does not load again.

    Returns:
        The checkpoint.
    """
    checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
    runner._has_loaded = True
    return checkpoint


def history_buffer_statistics() -> dict[str, Callable]:
    """The dict, shared by every ``HistoryBuffer``, from statistic names to methods
    (``HistoryBuffer.__setstate__`` writes a loaded file's entries into it)."""
    return HistoryBuffer._statistics_methods


class CompileHookRunner(Runner):
    """mmengine's Runner, with :meth:`compile_model` where ``Runner.train`` compiles.

    mmengine compiles its whole ``train_step`` in the private ``_maybe_compile``, called
    once before the training loop runs.
    """

    def compile_model(self) -> None:
        """Compile as the config's ``compile`` asks, before training (mmengine's way)."""
        super()._maybe_compile('train_step')

    def _maybe_compile(self, target: str) -> None:
        self.compile_model()
