"""Throughput and peak memory of the real training input pipeline, per DataLoader worker count.

Pipeline: ``SPADESDataset`` → ``EventsToVoxelGrid`` → ``PackPoseInputs``, random access
over all labels, ``pose_collate`` (or mmengine's ``pseudo_collate`` / ``default_collate``).
``--packing sparse`` (the configs' path) gives each voxel grid as its non-zero cells
(``EventsToVoxelGrid(sparse=True)``), ``pack-sparse`` the same cells taken from a dense
grid (``PackPoseInputs(sparse=True)``), ``dense`` a float32 tensor, ``events`` hands the
window's raw events over (``EventsToVoxelGrid(on_device=True)``: the grid is built later by
the data preprocessor, on the GPU); give several to compare. For
every packing, number of sequences (``--num-sequences``, 0 = all in the split) and number
of workers (``--workers``) it reports:

* samples/s overall and per worker, after each process's first batch (start-up and numba
  compilation excluded);
* CPU ms and minor page faults per sample of the loading processes (the pipeline, plus, in
  workers, moving each sample into shared memory for the main process);
* KiB per sample of the inputs handed over (what a worker copies into shared memory);
* peak RSS (VmHWM from ``/proc``) of the main process and of the workers, and each worker's
  growth since it started: a forked worker's RSS counts pages shared with the parent, and
  the growth must not depend on the number of sequences.

``--standin N`` first writes N stand-in sequences (uniform events clustered in a moving
300x300 px region, 100 µs ticks, 10 Hz labels)::

    python tools/analysis_tools/benchmark_dataloader.py --data-root /tmp/bench --standin 16 \\
        --num-sequences 4 0 --workers 0 1 2 --packing sparse dense --json bench.json

``--goal`` prints PASS/FAIL for the one-worker rows against a samples/s goal (default 700
on 256x256 grids); the load average is printed with the table, as contention lowers the
figures.

``--preprocess`` also runs each batch through ``PoseDataPreprocessor`` on the CPU in the
main process (densifying sparse batches), as CPU training would.

Where page faults are slow (a VM: ~2.5 µs each measured on ours), the ``dense`` and
``pack-sparse`` figures swing with how glibc's heap happens to trim their per-window
multi-MB grids (up to ~1400 faults, ~3.5 ms, per sample); ``MALLOC_TOP_PAD_=67108864`` in
the environment keeps freed memory in the heap and those figures steady. The ``sparse``
path allocates no grid per window: its ~90 faults per sample are the batch's fresh shared
memory.
"""
import argparse
import cProfile
import json
import os
import pstats
import resource
import time
from pathlib import Path

import numpy as np
from mmengine.dataset import default_collate, pseudo_collate
from torch.utils.data import DataLoader, RandomSampler

from sparkpose.datasets import pose_collate, read_split
from sparkpose.registry import DATASETS, MODELS
from sparkpose.simulation.spades_writer import (
    make_labels,
    write_camera_json,
    write_spades_file,
    write_split_files,
)
from sparkpose.structures import SparseInputs, WindowEvents


def write_standin(root: Path, num_sequences: int, seconds: float, events_per_window: int,
                  seed: int = 0) -> None:
    """Write stand-in sequences ``RT000...`` with realistic event density into ``root``."""
    rng = np.random.default_rng(seed)
    num_labels = int(seconds * 10)
    names = [f'RT{i:03d}' for i in range(num_sequences)]
    for name in names:
        n = num_labels * events_per_window
        ts = np.sort(rng.integers(0, num_labels * 1000 + 1, n))  # 100 µs ticks
        phase = ts / 1e4 * 2 * np.pi / seconds + rng.uniform(0, 2 * np.pi)
        cx, cy = 640 + 400 * np.sin(phase), 360 + 150 * np.sin(2 * phase)
        events = dict(xs=np.clip(cx + rng.uniform(-150, 150, n), 0, 1279).astype(int),
                      ys=np.clip(cy + rng.uniform(-150, 150, n), 0, 719).astype(int),
                      ts=ts, ps=rng.integers(0, 2, n))
        quat = rng.normal(size=(num_labels, 4))
        quat /= np.linalg.norm(quat, axis=1, keepdims=True)
        translations = np.c_[rng.uniform(-1, 1, (num_labels, 2)), rng.uniform(3, 12, num_labels)]
        stamps = 1000 * np.arange(1, num_labels + 1)
        write_spades_file(root / f'{name}.h5', events,
                          make_labels(name, stamps, translations, quat))
    write_camera_json(root)
    write_split_files(root, {'train': names})


def _proc_kib(field: str, pid: str = 'self') -> int:
    """A ``/proc/<pid>/status`` memory field (``VmRSS``, ``VmHWM``) in KiB."""
    with open(f'/proc/{pid}/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ':'))


def _reset_peak_rss() -> None:
    """Reset this process's VmHWM (Linux clear_refs 5) so each run reports its own peak."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')


class _ReportingCollate:
    """A collate function that also reports on the collating process.

    Each batch comes with ``dict(pid, start_rss, peak_rss, cpu, faults)``: RSS right after
    the worker started (this object is also the ``worker_init_fn``, run in each worker's
    own copy), VmHWM (KiB), the process's CPU time (s) and minor page faults once the
    batch is ready.
    """

    def __init__(self, collate: str) -> None:
        self.collate = dict(pose=pose_collate, pseudo=pseudo_collate,
                            default=default_collate)[collate]
        self.start_rss = None

    def worker_started(self, worker_id: int) -> None:
        self.start_rss = _proc_kib('VmRSS')

    def __call__(self, batch: list) -> tuple:
        report = dict(pid=os.getpid(), start_rss=self.start_rss, peak_rss=_proc_kib('VmHWM'),
                      cpu=time.process_time(),
                      faults=resource.getrusage(resource.RUSAGE_SELF).ru_minflt)
        return self.collate(batch), report


def _input_bytes(inputs) -> int:
    """Bytes of a batch's inputs as handed over (stored cells for SparseInputs)."""
    if isinstance(inputs, (SparseInputs, WindowEvents)):
        return inputs.nbytes
    if isinstance(inputs, list):
        return sum(_input_bytes(x) for x in inputs)
    return inputs.numel() * inputs.element_size()


def run(data_root: str, names: list[str], packing: str, workers: int,
        args: argparse.Namespace) -> dict:
    """Time one (packing, sequences, workers) configuration; return its figures."""
    _reset_peak_rss()
    dataset = DATASETS.build(dict(
        type='SPADESDataset', data_root=data_root, sequences=names,
        max_open_files=args.max_open_files, pipeline=[
            dict(type='EventsToVoxelGrid', num_bins=args.num_bins,
                 input_size=tuple(args.input_size), sparse=packing == 'sparse',
                 on_device=packing == 'events'),
            dict(type='PackPoseInputs', sparse=packing == 'pack-sparse')]))
    preprocessor = MODELS.build(dict(type='PoseDataPreprocessor')) if args.preprocess else None
    sampler = RandomSampler(dataset, replacement=True,
                            num_samples=args.samples + args.batch_size * max(workers, 1))
    collate = _ReportingCollate(args.collate)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler,
                        num_workers=workers, collate_fn=collate,
                        worker_init_fn=collate.worker_started)
    first, last, count, start, handed, seen = {}, {}, 0, None, 0, 0
    profiler = cProfile.Profile() if args.profile and workers == 0 else None
    for batch, report in loader:
        handed, seen = handed + _input_bytes(batch['inputs']), seen + len(batch['inputs'])
        if preprocessor is not None:
            preprocessor(batch, training=True)
        pid = report['pid']
        if pid not in first:  # a process's first batch: start-up and JIT compilation
            first[pid] = report
        else:
            last[pid] = dict(report, samples=last.get(pid, {}).get('samples', 0)
                             + len(batch['inputs']))
        if start is None:
            start = time.perf_counter()
            if profiler is not None:
                profiler.enable()
        else:
            count += len(batch['inputs'])
    elapsed = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        print(f'--- where {packing} samples spend their time in one process ({count} samples, '
              f'cProfile adds its own overhead to Python-heavy code):')
        pstats.Stats(profiler).sort_stats('tottime').print_stats(12)
    cpu_ms = [1e3 * (r['cpu'] - first[pid]['cpu']) / r['samples'] for pid, r in last.items()]
    faults = [(r['faults'] - first[pid]['faults']) / r['samples'] for pid, r in last.items()]
    in_workers = [r for pid, r in last.items() if pid != os.getpid()]
    return dict(
        packing=packing, num_sequences=len(names), num_samples=len(dataset), workers=workers,
        kib_per_sample=handed / 1024 / seen,
        samples_per_s=count / elapsed, samples_per_s_per_worker=count / elapsed / max(workers, 1),
        cpu_ms_per_sample=float(np.mean(cpu_ms)), page_faults_per_sample=float(np.mean(faults)),
        main_peak_rss_mib=_proc_kib('VmHWM') / 1024,
        worker_peak_rss_mib=max((r['peak_rss'] / 1024 for r in in_workers), default=None),
        worker_growth_mib=max(((r['peak_rss'] - r['start_rss']) / 1024 for r in in_workers),
                              default=None))


def _mib(value: float | None) -> str:
    return '-' if value is None else f'{value:.0f}'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--split', default='train.txt')
    parser.add_argument('--num-sequences', type=int, nargs='+', default=[4, 0],
                        help='sequence counts to compare; 0 = all of the split')
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--samples', type=int, default=1600, help='timed samples per run')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--packing', choices=['sparse', 'pack-sparse', 'dense', 'events'],
                        nargs='+', default=['sparse'],
                        help='non-zero cells from EventsToVoxelGrid(sparse=True), the same '
                             'cells extracted from a dense grid by PackPoseInputs(sparse=True), '
                             'dense tensors, or the raw events '
                             '(EventsToVoxelGrid(on_device=True))')
    parser.add_argument('--goal', type=float, default=700.0,
                        help='samples/s goal for one worker (PASS/FAIL printed)')
    parser.add_argument('--collate', choices=['pose', 'pseudo', 'default'], default='pose',
                        help="sparkpose's pose_collate (few shared-memory segments per "
                             "batch), mmengine's pseudo_collate (every tensor apart) or "
                             "default_collate (stacked tensors; dense packing only)")
    parser.add_argument('--profile', action='store_true',
                        help='for the rows with --workers 0: profile the timed batches '
                             '(cProfile) and print the 12 functions with the most own time')
    parser.add_argument('--preprocess', action='store_true',
                        help='run PoseDataPreprocessor (CPU) on every batch in the main process')
    parser.add_argument('--max-open-files', type=int, default=320)
    parser.add_argument('--num-bins', type=int, default=5)
    parser.add_argument('--input-size', type=int, nargs=2, default=[256, 256])
    parser.add_argument('--standin', type=int, default=0,
                        help='first write this many stand-in sequences into --data-root')
    parser.add_argument('--standin-seconds', type=float, default=3.0)
    parser.add_argument('--events-per-window', type=int, default=100_000)
    parser.add_argument('--json', help='also write the figures to this file')
    args = parser.parse_args()

    if args.standin:
        write_standin(Path(args.data_root), args.standin, args.standin_seconds,
                      args.events_per_window)
    names = read_split(args.data_root, os.path.join(args.data_root, args.split))
    rows = [run(args.data_root, names[:k or None], packing, w, args)
            for packing in args.packing for k in args.num_sequences for w in args.workers]
    print(f"{'packing':>7} {'seqs':>5} {'samples':>8} {'workers':>7} {'KiB/sample':>10} "
          f"{'samples/s':>10} {'/worker':>8} {'cpu ms/sample':>13} {'faults':>6} {'main MiB':>9} "
          f"{'worker MiB':>10} {'growth MiB':>10}")
    for r in rows:
        print(f"{r['packing']:>7} {r['num_sequences']:>5} {r['num_samples']:>8} "
              f"{r['workers']:>7} {r['kib_per_sample']:>10.0f} "
              f"{r['samples_per_s']:>10.0f} {r['samples_per_s_per_worker']:>8.0f} "
              f"{r['cpu_ms_per_sample']:>13.2f} {r['page_faults_per_sample']:>6.0f} "
              f"{r['main_peak_rss_mib']:>9.0f} {_mib(r['worker_peak_rss_mib']):>10} "
              f"{_mib(r['worker_growth_mib']):>10}")
    print(f'load average {os.getloadavg()[0]:.2f} (on {os.cpu_count()} CPUs)')
    for r in rows:
        if r['workers'] == 1:
            print(f"one worker, {r['packing']}: {r['samples_per_s']:.0f} samples/s "
                  f"({'PASS' if r['samples_per_s'] >= args.goal else 'FAIL'}: goal "
                  f">= {args.goal:.0f})")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(args=vars(args), results=rows,
                                                   load_average=os.getloadavg()), indent=2))


if __name__ == '__main__':
    main()
