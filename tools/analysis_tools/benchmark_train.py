"""Training throughput of a config, with each iteration's time split by where it goes.

Runs the config's real training (its Runner, DataLoader workers, hooks, optimizer wrapper)
for ``--warmup`` untimed and ``--iters`` timed iterations, no validation or checkpoints,
and reports samples/s and the share of an iteration spent in:

* ``data_wait``: waiting for the DataLoader's next batch;
* ``preprocess``: the data preprocessor (to the device, densify or voxelise, noise);
* ``forward_backward``: the loss forward and backward (and the non-finite guard's check);
* ``optimizer``: the optimizer wrapper's step (clipping, grad scaler, optimizer);
* ``other``: the rest (hooks such as logging and schedulers, loss parsing).

The boundaries are measured after ``torch.cuda.synchronize()``, so that GPU work is
charged to the phase that queued it (this costs a little throughput). Peak memory is
``torch.cuda.max_memory_allocated`` on a GPU, the main process's peak RSS elsewhere.

Example (generated stand-in data; goals are printed beside the figures)::

    python tools/analysis_tools/benchmark_train.py \\
        configs/efficientnet/rot6d_efficientnet-b0_1xb64-60e_spades-256x256_sota.py \\
        --data-root /tmp/bench --iters 50 --goal-samples-per-s 3000 --goal-data-wait 0.10
"""
import argparse
import json
import resource
import sys
import tempfile
import time
import types
from pathlib import Path

import torch
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sparkpose.engine import apply_common_options, enable_amp
from sparkpose.registry import RUNNERS

PHASES = ('data_wait', 'preprocess', 'forward_backward', 'optimizer', 'other')


class _Enough(Exception):
    """Raised by the probe once the timed iterations are done (ends runner.train())."""


def _sync() -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter()


class IterationProbe(Hook):
    """Timestamps of every iteration's phases; stops training after ``total`` iterations.

    Registered twice (first and last hook), it marks the iteration's start (after the
    batch arrived) and end; the preprocessor and the optimizer step are wrapped.
    """

    priority = 'HIGHEST'

    def __init__(self, total: int) -> None:
        self.total = total
        self.iters: list[dict] = []
        self.batch_sizes: list[int] = []
        self._current: dict = {}
        self._last_end: float | None = None

    def wrap(self, runner) -> None:
        """Time the data preprocessor and the optimizer step of ``runner``."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._timed(model.data_preprocessor, 'forward', 'preprocess')
        self._timed(runner.optim_wrapper, 'step', 'optimizer')

    def _timed(self, obj, method: str, phase: str) -> None:
        inner = getattr(obj, method)

        def timed(_owner, *args, **kwargs):
            start = _sync()
            result = inner(*args, **kwargs)
            self._current[f'{phase}_start'], self._current[f'{phase}_end'] = start, _sync()
            return result

        # A bound method: mmengine's schedulers wrap optim_wrapper.step and read __self__.
        setattr(obj, method, types.MethodType(timed, obj))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        start = _sync()
        self._current = dict(start=start, wait_from=self._last_end)
        inputs = (data_batch or {}).get('inputs')
        self.batch_sizes.append(len(inputs) if inputs is not None else 0)

    def mark_end(self) -> None:
        end = self._last_end = _sync()
        self.iters.append(dict(self._current, end=end))
        if len(self.iters) >= self.total:
            raise _Enough


class _EndMarker(Hook):
    """The last hook of an iteration: hands the end time to the probe."""

    priority = 'LOWEST'

    def __init__(self, probe: IterationProbe) -> None:
        self.probe = probe

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.probe.mark_end()


def split_iterations(iters: list[dict]) -> dict[str, float]:
    """Seconds per phase summed over ``iters`` (each needs a previous iteration's end)."""
    totals = dict.fromkeys(PHASES, 0.0)
    for it in iters:
        preprocess = it.get('preprocess_end', it['start']) - it.get('preprocess_start',
                                                                    it['start'])
        optimizer = it.get('optimizer_end', 0.0) - it.get('optimizer_start', 0.0)
        forward_backward = (it.get('optimizer_start', it['end'])
                            - it.get('preprocess_end', it['start']))
        total = it['end'] - it['wait_from']
        totals['data_wait'] += it['start'] - it['wait_from']
        totals['preprocess'] += preprocess
        totals['forward_backward'] += forward_backward
        totals['optimizer'] += optimizer
        totals['other'] += total - (it['start'] - it['wait_from']) - preprocess \
            - forward_backward - optimizer
    return totals


def build_config(args: argparse.Namespace, work_dir: str) -> Config:
    """The config, shrunk to training only and the benchmark's sizes."""
    cfg = Config.fromfile(args.config)
    apply_common_options(cfg, args.config, args.cfg_options, 'none', work_dir,
                         data_root=args.data_root)
    loader = cfg.train_dataloader
    if args.batch_size:
        loader.batch_size = args.batch_size
    if args.num_workers is not None:
        loader.num_workers = args.num_workers
        if args.num_workers == 0:
            loader.persistent_workers = False
            loader.pop('prefetch_factor', None)
    if args.amp:
        cfg.optim_wrapper = enable_amp(cfg.optim_wrapper, args.amp_dtype)
    if args.compile:
        cfg.compile = True
    cfg.train_cfg = dict(type=cfg.train_cfg.get('type', 'EpochBasedTrainLoop'),
                         max_epochs=10 ** 6, val_interval=10 ** 6)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.default_hooks.checkpoint = None
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    cfg.load_from, cfg.resume = None, False
    return cfg


def measure(cfg: Config, warmup: int, iters: int) -> dict:
    """Train ``warmup + iters`` iterations; figures of the timed ones."""
    runner = RUNNERS.build(cfg)
    probe = IterationProbe(warmup + iters)
    runner.register_hook(probe)
    runner.register_hook(_EndMarker(probe))
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    original_build = runner.build_optim_wrapper

    def build_and_wrap(*args, **kwargs):  # the optimizer wrapper exists only inside train()
        wrapper = original_build(*args, **kwargs)
        runner.optim_wrapper = wrapper
        probe.wrap(runner)
        return wrapper

    runner.build_optim_wrapper = build_and_wrap
    try:
        runner.train()
    except _Enough:
        pass
    timed = probe.iters[warmup:]
    if len(timed) < iters or timed[0]['wait_from'] is None:
        raise RuntimeError(f'benchmark_train: only {len(probe.iters)} iterations ran; '
                           f'need --warmup >= 1 and {warmup + iters} in all')
    seconds = split_iterations(timed)
    total = sum(seconds.values())
    samples = sum(probe.batch_sizes[warmup:warmup + iters])
    if torch.cuda.is_available():
        peak, peak_kind = torch.cuda.max_memory_allocated() / 2 ** 20, 'cuda_max_allocated'
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 10  # KiB on Linux
        peak_kind = 'cpu_peak_rss'
    return dict(iterations=iters, samples=samples, seconds=total,
                samples_per_s=samples / total, ms_per_iter=total / iters * 1e3,
                fractions={k: v / total for k, v in seconds.items()},
                ms_per_iter_by_phase={k: v / iters * 1e3 for k, v in seconds.items()},
                peak_memory_mib=peak, peak_memory_kind=peak_kind,
                device=torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=50, help='timed iterations')
    parser.add_argument('--warmup', type=int, default=10,
                        help='untimed iterations first (>= 1; compilation, cuDNN autotune)')
    parser.add_argument('--batch-size', type=int, help="override the config's batch size")
    parser.add_argument('--num-workers', type=int, help="override the DataLoader's workers")
    parser.add_argument('--data-root', metavar='DIR',
                        help='point every dataset and body-model path at DIR (as train.py)')
    parser.add_argument('--amp', action='store_true', help='mixed precision (as train.py)')
    parser.add_argument('--amp-dtype', choices=('float16', 'bfloat16'), default='float16')
    parser.add_argument('--compile', action='store_true', help="torch.compile the forward")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE')
    parser.add_argument('--goal-samples-per-s', type=float,
                        help='print PASS/FAIL against this throughput')
    parser.add_argument('--goal-data-wait', type=float,
                        help='print PASS/FAIL against this largest data-wait fraction')
    parser.add_argument('--json', help='write the figures to this file')
    args = parser.parse_args(argv)
    if args.warmup < 1 or args.iters < 1:
        parser.error('need --warmup >= 1 and --iters >= 1')
    return args


def report(result: dict, args: argparse.Namespace) -> bool:
    """Print the table (and goals); whether every goal given is met."""
    print(f'{Path(args.config).name} on {result["device"]}: {result["samples_per_s"]:.1f} '
          f'samples/s, {result["ms_per_iter"]:.1f} ms/iter over {result["iterations"]} '
          f'iterations, peak memory {result["peak_memory_mib"]:.0f} MiB '
          f'({result["peak_memory_kind"]})')
    print(f'{"phase":<18}{"ms/iter":>10}{"share":>9}')
    for phase in PHASES:
        print(f'{phase:<18}{result["ms_per_iter_by_phase"][phase]:>10.2f}'
              f'{result["fractions"][phase]:>9.1%}')
    passed = True
    if args.goal_samples_per_s is not None:
        ok = result['samples_per_s'] >= args.goal_samples_per_s
        passed &= ok
        print(f'goal samples/s >= {args.goal_samples_per_s:.0f}: '
              f'{result["samples_per_s"]:.0f} {"PASS" if ok else "FAIL"}')
    if args.goal_data_wait is not None:
        ok = result['fractions']['data_wait'] < args.goal_data_wait
        passed &= ok
        print(f'goal data wait < {args.goal_data_wait:.0%}: '
              f'{result["fractions"]["data_wait"]:.1%} {"PASS" if ok else "FAIL"}')
    return passed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as work_dir:
        result = measure(build_config(args, work_dir), args.warmup, args.iters)
    result['config'] = args.config
    passed = report(result, args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if passed else 1


if __name__ == '__main__':
    sys.exit(main())
