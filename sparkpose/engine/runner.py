"""sparkpose's Runner: mmengine's, with safe checkpoint I/O and a CPU fallback for AMP."""
import glob
import os.path as osp
import re
from collections.abc import Callable

from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from sparkpose.registry import RUNNERS

from .checkpoint import ATOMIC_BACKEND, find_unsafe_globals, load_checkpoint_safely
from .optim_wrappers import fall_back_to_fp32


def find_resumable_checkpoint(work_dir: str) -> str | None:
    """The checkpoint to auto-resume from: ``last_checkpoint``'s target, else the newest one.

    ``CheckpointHook`` writes the ``last_checkpoint`` pointer non-atomically; if a crash left
    it empty or naming a missing file, the highest ``epoch_*.pth`` / ``iter_*.pth`` is used.

    Args:
        work_dir: The run's work directory.

    Returns:
        A checkpoint path, or None when there is nothing to resume.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as file:
            target = file.read().strip()
        if target and osp.isfile(target):
            return target
    numbered = [(int(m.group(2)), m.group(1) == 'epoch', path)
                for path in glob.glob(osp.join(work_dir, '*.pth'))
                if (m := re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path)))]
    return max(numbered)[2] if numbered else None


@RUNNERS.register_module()
class SparkposeRunner(Runner):
    """:class:`mmengine.runner.Runner` hardened for PyTorch >= 2.6 (select with
    ``runner_type = 'SparkposeRunner'``).

    - **Safe loading**: ``load_from``/``resume`` go through
      :func:`~sparkpose.engine.checkpoint.load_checkpoint_safely` (``weights_only=True`` with
      an explicit allow-list): a checkpoint never runs code, yet our own checkpoints resume.
    - **Atomic saving**: local checkpoints are written with the ``atomic_local`` file backend
      (temp file, fsync, ``os.replace``); after saving, a checkpoint that the safe loader
      would refuse is reported at once rather than at resume time.
    - **Auto-resume** (``resume=True`` without ``load_from``) survives a damaged
      ``last_checkpoint`` pointer (:func:`find_resumable_checkpoint`).
    - **AMP without a GPU**: an ``AmpOptimWrapper``-type config on a CPU-only machine
      trains in float32 with one warning instead of failing mmengine's GPU assertion.
    """

    def build_optim_wrapper(self, optim_wrapper: OptimWrapper | dict) -> OptimWrapper:
        """Build the optimizer wrapper; AMP configs fall back to fp32 where no GPU exists."""
        if isinstance(optim_wrapper, dict):
            optim_wrapper = fall_back_to_fp32(optim_wrapper)
        return super().build_optim_wrapper(optim_wrapper)

    def load_or_resume(self) -> None:
        """Load or resume; auto-resume tolerates a damaged ``last_checkpoint`` pointer."""
        if self._resume and self._load_from is None and not self._has_loaded:
            self._load_from = find_resumable_checkpoint(self.work_dir)
            if self._load_from is not None:
                self.logger.info(f'Auto-resuming from {self._load_from}')
        super().load_or_resume()

    def load_checkpoint(self, filename: str, map_location: str | Callable = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]) -> dict:  # noqa: B006
        """Load ``filename`` (local file) into the model without running code from it.

        Same behaviour as :meth:`mmengine.runner.Runner.load_checkpoint` (``after_load_checkpoint``
        hooks, ``revise_keys``), with the safe loader in place of ``torch.load``.
        """
        checkpoint = load_checkpoint_safely(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def save_checkpoint(self, out_dir: str, filename: str, file_client_args: dict | None = None,
                        save_optimizer: bool = True, save_param_scheduler: bool = True,
                        meta: dict | None = None, by_epoch: bool = True,
                        backend_args: dict | None = None) -> None:
        """Save like mmengine, atomically for local paths, and check the result loads safely."""
        local = file_client_args is None and backend_args is None and '://' not in out_dir
        if local:
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().save_checkpoint(out_dir, filename, file_client_args, save_optimizer,
                                save_param_scheduler, meta, by_epoch, backend_args)
        if local and is_main_process():
            path = osp.join(out_dir, filename)
            unsafe = find_unsafe_globals(path)
            if unsafe:
                self.logger.error(
                    f'{path} contains {unsafe}, which the safe loader refuses: it will not load '
                    'or resume. Keep checkpoint contents (e.g. dataset metainfo) to plain types.')
