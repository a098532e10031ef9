"""sparkpose's Runner: mmengine's, with safe checkpoint I/O and CPU fallbacks (AMP, DDP)."""
import datetime
import glob
import logging
import os.path as osp
import re
from collections.abc import Callable

import torch
from mmengine.dist import is_distributed, is_main_process
from mmengine.logging import MMLogger, print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.registry import MODEL_WRAPPERS
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from sparkpose.registry import RUNNERS

from .checkpoint import (
    ATOMIC_BACKEND,
    UnsafeCheckpointError,
    body_model_meta,
    find_unsafe_globals,
    load_checkpoint_safely,
    remove_stale_temporaries,
)
from .checkpoint.strict_load import (
    check_state_dict,
    checkpoint_architecture,
    describe_architecture,
)
from .mmengine_compat import (
    CompileHookRunner,
    auto_resume_pending,
    is_resuming,
    load_into_model,
    set_checkpoint_to_load,
)
from .optim_wrappers import fall_back_to_fp32
from .startup_log import shorten_startup_log


def resume_candidates(work_dir: str) -> list[str]:
    """Checkpoints to auto-resume from, best first: ``last_checkpoint``'s target, then every
    ``epoch_*.pth`` / ``iter_*.pth`` from the newest.

    ``CheckpointHook`` writes the ``last_checkpoint`` pointer non-atomically; if a crash left
    it empty or naming a missing file, the numbered checkpoints remain.
    """
    candidates = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as file:
            target = file.read().strip()
        if target and osp.isfile(target):
            candidates.append(target)
    numbered = [(int(m.group(2)), m.group(1) == 'epoch', path)
                for path in glob.glob(osp.join(work_dir, '*.pth'))
                if (m := re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path)))]
    candidates += [path for *_, path in sorted(numbered, reverse=True)]
    return list(dict.fromkeys(osp.abspath(path) for path in candidates))


def find_resumable_checkpoint(work_dir: str) -> str | None:
    """The newest checkpoint of ``work_dir`` that loads (see :func:`resume_candidates`).

    An unreadable one (cut short by a full disk, a damaged copy) is skipped with a warning
    naming it, so training goes on from the newest intact checkpoint beside it.

    Args:
        work_dir: The run's work directory.

    Returns:
        A checkpoint path, or None when there is nothing to resume.
    """
    for path in resume_candidates(work_dir):
        try:
            load_checkpoint_safely(path, map_location='cpu')
        except (RuntimeError, UnsafeCheckpointError, OSError) as err:
            print_log(f'Not resuming from {path}: {err}; trying an older checkpoint',
                      logger='current', level=logging.WARNING)
            continue
        return path
    return None


def init_cpu_process_group(launcher: str, dist_cfg: dict) -> None:
    """Join the process group without a GPU: gloo in place of nccl, no ``cuda.set_device``.

    mmengine's ``init_dist`` selects a CUDA device for every launcher, which fails on a
    CPU-only machine; torchrun's environment (``--launcher pytorch``) is all that
    ``init_process_group`` needs.

    Args:
        launcher: The runner's launcher; only ``'pytorch'`` works without a GPU.
        dist_cfg: ``env_cfg.dist_cfg`` (``backend``, ``timeout`` in seconds, ...).
    """
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} needs a GPU per process; without a GPU, '
                           'start the processes with torchrun (tools/dist_train.sh, '
                           '--launcher pytorch)')
    kwargs = {key: value for key, value in dist_cfg.items() if key != 'init_backend'}
    if kwargs.get('backend', 'nccl') == 'nccl':
        print_log("No GPU: distributed training on the 'gloo' backend instead of 'nccl'",
                  logger='current')
        kwargs['backend'] = 'gloo'
    if kwargs.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    torch.distributed.init_process_group(**kwargs)


@RUNNERS.register_module()
class SparkposeRunner(CompileHookRunner):
    """:class:`mmengine.runner.Runner` hardened for PyTorch >= 2.6 (select with
    ``runner_type = 'SparkposeRunner'``).

    - **Safe loading**: ``load_from``/``resume`` go through
      :func:`~sparkpose.engine.checkpoint.load_checkpoint_safely` (``weights_only=True`` with
      an explicit allow-list): a checkpoint never runs code, yet our own checkpoints resume.
    - **Atomic saving**: local checkpoints are written with the ``atomic_local`` file backend
      (temp file, fsync, ``os.replace``); after saving, a checkpoint that the safe loader
      would refuse is reported at once rather than at resume time.
    - **Auto-resume** (``resume=True`` without ``load_from``) survives a damaged
      ``last_checkpoint`` pointer and an unreadable newest checkpoint
      (:func:`find_resumable_checkpoint`); temporary files of interrupted saves in the work
      directory are removed at start-up.
    - **AMP without a GPU**: an ``AmpOptimWrapper``-type config on a CPU-only machine
      trains in float32 with one warning instead of failing mmengine's GPU assertion.
    - **A short start-up log**: environment, config and hook order go to the log file only
      unless ``log_level='DEBUG'``.
    - **DDP without a GPU** (``--launcher pytorch``): the process group uses gloo where the
      config says nccl, and the model is wrapped as a CPU module (``device_ids=None``).
    - **torch.compile** (``compile=True`` or a dict of ``torch.compile`` options, ``--compile``
      in tools/train.py): compiles the model's forward in place, not mmengine's whole
      ``train_step``, whose backward, optimizer step and non-finite guard (a host decision)
      would break the graph; parameter names stay the same, so checkpoints are unchanged.
    """

    def build_logger(self, log_level: int | str = 'INFO', log_file: str | None = None,
                     **kwargs) -> MMLogger:
        """mmengine's logger with a short console start-up (:mod:`.startup_log`)."""
        log_file = log_file or osp.join(self.log_dir, f'{self.timestamp}.log')
        logger = super().build_logger(log_level=log_level, log_file=log_file, **kwargs)
        shorten_startup_log(logger, log_file, verbose=log_level in ('DEBUG', logging.DEBUG))
        return logger

    def setup_env(self, env_cfg: dict) -> None:
        """mmengine's set-up; without a GPU, join the process group on gloo first."""
        if self.distributed and not is_distributed() and not torch.cuda.is_available():
            init_cpu_process_group(self.launcher, env_cfg.get('dist_cfg', {}))
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: dict | None, model: nn.Module) -> nn.Module:
        """mmengine's wrapping; without a GPU, DDP wraps the CPU module (no ``device_ids``)."""
        if self.distributed and not torch.cuda.is_available():
            model_wrapper_cfg = dict(model_wrapper_cfg or dict(
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters', False)))
            model_wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
            wrapper = model_wrapper_cfg['type']
            if isinstance(wrapper, str):
                with MODEL_WRAPPERS.switch_scope_and_registry(None) as registry:
                    wrapper = registry.get(wrapper)
            if issubclass(wrapper, DistributedDataParallel):
                model_wrapper_cfg['device_ids'] = None
        return super().wrap_model(model_wrapper_cfg, model)

    def compile_model(self) -> None:
        """Compile the model's forward if the config asks."""
        options = self.cfg.get('compile')
        if not options:
            return
        model = self.model.module if is_model_wrapper(self.model) else self.model
        model.compile(**(options if isinstance(options, dict) else {}))
        self.logger.info(f"torch.compile: the model's forward is compiled "
                         f'({options}); the first iterations are slow while it compiles.')

    def build_optim_wrapper(self, optim_wrapper: OptimWrapper | dict) -> OptimWrapper:
        """Build the optimizer wrapper; AMP configs fall back to fp32 where no GPU exists."""
        if isinstance(optim_wrapper, dict):
            optim_wrapper = fall_back_to_fp32(optim_wrapper)
        return super().build_optim_wrapper(optim_wrapper)

    def load_or_resume(self) -> None:
        """Load or resume; auto-resume falls back to the newest readable checkpoint."""
        if is_main_process():
            removed = remove_stale_temporaries(self.work_dir)
            if removed:
                self.logger.warning(f'Removed {len(removed)} temporary file(s) of interrupted '
                                    f'saves: {", ".join(removed)}')
        if auto_resume_pending(self):
            path = find_resumable_checkpoint(self.work_dir)
            set_checkpoint_to_load(self, path)
            if path is not None:
                self.logger.info(f'Auto-resuming from {path}')
        super().load_or_resume()

    def load_checkpoint(self, filename: str, map_location: str | Callable = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]) -> dict:  # noqa: B006
        """Load ``filename`` (local file) into the model without running code from it.

        Same behaviour as :meth:`mmengine.runner.Runner.load_checkpoint` (``after_load_checkpoint``
        hooks, ``revise_keys``), with the safe loader in place of ``torch.load``. Strict, with
        an error naming the keys and both architectures, when resuming or when the config
        sets ``load_strict=True`` (``tools/test.py`` does unless ``--non-strict``).
        """
        checkpoint = load_checkpoint_safely(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if strict or is_resuming(self) or self.cfg.get('load_strict', False):
            state_dict = checkpoint.get('state_dict', checkpoint)
            for pattern, replacement in revise_keys:
                state_dict = {re.sub(pattern, replacement, k): v for k, v in state_dict.items()}
            check_state_dict(model, state_dict, filename,
                             describe_architecture(self.cfg.get('model') or {}),
                             checkpoint_architecture(checkpoint))
            strict = True
        checkpoint = load_into_model(self, model, checkpoint, strict, revise_keys)
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def save_checkpoint(self, out_dir: str, filename: str, file_client_args: dict | None = None,
                        save_optimizer: bool = True, save_param_scheduler: bool = True,
                        meta: dict | None = None, by_epoch: bool = True,
                        backend_args: dict | None = None) -> None:
        """Save like mmengine, atomically for local paths, and check the result loads safely.

        The model's body model travels in ``meta['body_model']`` (see ``body_model_meta``).
        """
        meta = {**body_model_meta(self.cfg.get('model') or {}), **(meta or {})}
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
