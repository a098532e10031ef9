"""Time single choices in the code against the plain way they replaced, on the same inputs.

The figures of docs/performance.md that no pipeline benchmark isolates. Each case first
checks that both ways give the same result, then takes the best of ``--repeats`` rounds
of ``--number`` calls (one process, one thread per library, as in a DataLoader worker)::

    python tools/analysis_tools/benchmark_micro.py --json work_dirs/benchmark_micro.json
    python tools/analysis_tools/benchmark_micro.py --cases h5-reopen h5-slice

Cases (``ours`` / ``plain``):

* ``take-vs-mask``: ``crop_events``'s ``take()`` of four event arrays with one index
  array / boolean indexing of each (100k events, 30 % kept);
* ``grid-max``: the float64-redo check, one max over a 10×256×256 float32 grid;
* ``from-dense``: ``SparseInputs.from_dense`` (numba) / ``nonzero_cells_reference``
  (numpy) on a 10×256×256 grid with 5 % non-zero cells;
* ``h5-reopen``: the four event datasets of two files in turn from ``H5FilePool`` holding
  both / holding one (which reopens a file and looks its datasets up at every call);
* ``h5-slice``: 100k int64 timestamps (800 KB, across a chunk border) through
  ``DirectSlices`` / through h5py, both from the pool's handle;
* ``shared-fill``: fresh shared memory of 7.7 MB filled with ``madvise``'s advice
  (``pose_collate``'s arena) / without it;
* ``cv2-import``: ``import cv2`` in a fresh interpreter (``-X importtime``), no plain way;
* ``channels-last``: VoxelCNN forward and backward on a batch of 32 at 128² in
  channels-last / contiguous layout (samples/s is ``32 / ms · 1000``).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import torch

from sparkpose.datasets import collate
from sparkpose.datasets.h5_direct_read import DirectSlices
from sparkpose.datasets.h5_file_pool import H5FilePool
from sparkpose.models.backbones import VoxelCNN
from sparkpose.simulation.spades_writer import CHUNK_EVENTS
from sparkpose.structures import SparseInputs
from sparkpose.structures.sparse_inputs import nonzero_cells_reference

EVENT_DATASETS = ('xs', 'ys', 'ts', 'ps')


def best_ms(fn: Callable[[], object], repeats: int, number: int) -> float:
    """The fastest of ``repeats`` rounds, in ms per call."""
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - start) / number)
    return min(rounds) * 1e3


def _same(name: str, a: list, b: list) -> None:
    for x, y in zip(a, b, strict=True):
        if not np.allclose(np.asarray(x), np.asarray(y), rtol=1e-4, equal_nan=True):
            raise RuntimeError(f'{name}: the two ways disagree')


def case_take_vs_mask(rng: np.random.Generator) -> tuple[Callable, Callable]:
    arrays = [rng.integers(0, 1280, 100_000).astype(np.uint16) for _ in range(4)]
    mask = rng.random(100_000) < 0.3
    return (lambda: [a.take(np.flatnonzero(mask)) for a in arrays],
            lambda: [a[mask] for a in arrays])


def case_grid_max(rng: np.random.Generator) -> tuple[Callable, None]:
    grid = rng.random((10, 256, 256), dtype=np.float32)
    return (lambda: grid.max(initial=0.0)), None


def case_from_dense(rng: np.random.Generator) -> tuple[Callable, Callable]:
    grid = np.where(rng.random((10, 256, 256)) < 0.05, rng.random((10, 256, 256)), 0)
    grid = grid.astype(np.float32)

    def ours():
        sparse = SparseInputs.from_dense(grid)
        return sparse.offsets.numpy().astype(np.int64), sparse.values, sparse.counts

    return ours, lambda: nonzero_cells_reference(grid)


def _event_file(path: str, rng: np.random.Generator) -> str:
    """Four event datasets of 2^20 int64, chunked as the generator writes them."""
    with h5py.File(path, 'w') as file:
        for name in EVENT_DATASETS:
            file.create_dataset(f'events/{name}', data=rng.integers(0, 1 << 20, 1 << 20),
                                chunks=(CHUNK_EVENTS,))
    return path


def case_h5_reopen(rng: np.random.Generator, folder: str) -> tuple[Callable, Callable]:
    paths = [_event_file(os.path.join(folder, f'reopen{i}.h5'), rng) for i in range(2)]
    names = [f'events/{name}' for name in EVENT_DATASETS]

    def alternate(pool):  # two files in turn: a pool of one reopens at every call
        def read():
            return [len(d) for path in paths for d in pool.datasets(path, names)]
        return read

    return alternate(H5FilePool(max_open=2)), alternate(H5FilePool(max_open=1))


def case_h5_slice(rng: np.random.Generator, folder: str) -> tuple[Callable, Callable]:
    path = _event_file(os.path.join(folder, 'slice.h5'), rng)
    pool = H5FilePool()
    (direct,) = pool.datasets(path, ['events/ts'])
    if not isinstance(direct, DirectSlices):
        raise RuntimeError('h5-slice: this h5py cannot read the file directly')
    through_h5py = pool.get(path)['events/ts']
    window = slice(CHUNK_EVENTS - 50_000, CHUNK_EVENTS + 50_000)  # across a chunk border
    return (lambda: [direct[window]]), (lambda: [through_h5py[window]])


def case_shared_fill(rng: np.random.Generator) -> tuple[Callable, Callable]:
    nbytes = 7_700_000

    def fill(storage):
        return [torch.empty(0, dtype=torch.uint8).set_(storage).fill_(1)[-1].item()]

    return (lambda: fill(collate._new_shared(nbytes)),
            lambda: fill(torch.UntypedStorage._new_shared(nbytes)))


def case_channels_last(rng: np.random.Generator) -> tuple[Callable, Callable]:
    model = VoxelCNN(in_channels=10)
    inputs = torch.from_numpy(rng.random((32, 10, 128, 128), dtype=np.float32))

    def step(memory_format):
        def run():
            net = model.to(memory_format=memory_format)
            net.zero_grad()
            out = net(inputs.contiguous(memory_format=memory_format))
            loss = sum(o.float().sum() for o in (out if isinstance(out, tuple) else [out]))
            loss.backward()
            return [loss.item()]
        return run

    return step(torch.channels_last), step(torch.contiguous_format)


CASES = {'take-vs-mask': case_take_vs_mask, 'grid-max': case_grid_max,
         'from-dense': case_from_dense, 'h5-reopen': case_h5_reopen,
         'h5-slice': case_h5_slice, 'shared-fill': case_shared_fill,
         'channels-last': case_channels_last}
NEEDS_FOLDER = ('h5-reopen', 'h5-slice')


def cv2_import_ms(repeats: int) -> float:
    """``import cv2``'s cumulative time in a fresh interpreter, best of ``repeats``."""
    times = []
    for _ in range(repeats):
        report = subprocess.run([sys.executable, '-X', 'importtime', '-c', 'import cv2'],
                                capture_output=True, text=True, check=True).stderr
        line = next(line for line in report.splitlines() if line.rstrip().endswith('| cv2'))
        times.append(int(line.split('|')[1]) / 1e3)
    return min(times)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cases', nargs='+', choices=[*CASES, 'cv2-import'],
                        default=[*CASES, 'cv2-import'])
    parser.add_argument('--repeats', type=int, default=7, help='rounds; the best counts')
    parser.add_argument('--number', type=int, default=20, help='calls per round')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', help='also write the figures to this file')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.cases:
            if name == 'cv2-import':
                rows.append(dict(case=name, ours_ms=cv2_import_ms(min(args.repeats, 3)),
                                 plain_ms=None))
                continue
            ours, plain = CASES[name](rng, *([folder] if name in NEEDS_FOLDER else []))
            if plain is not None:
                _same(name, ours(), plain())
            number = 1 if name == 'channels-last' else args.number
            rows.append(dict(case=name, ours_ms=best_ms(ours, args.repeats, number),
                             plain_ms=plain and best_ms(plain, args.repeats, number)))
    print(f'best of {args.repeats} rounds, one thread, load average {os.getloadavg()[0]:.2f}')
    print(f'{"case":<14} {"ours ms":>9} {"plain ms":>9} {"plain/ours":>10}')
    for row in rows:
        plain = row['plain_ms']
        row['speedup'] = plain / row['ours_ms'] if plain else None
        print(f'{row["case"]:<14} {row["ours_ms"]:>9.3f} '
              + (f'{plain:>9.3f} {row["speedup"]:>9.2f}x' if plain else f'{"-":>9} {"-":>10}'))
    result = dict(repeats=args.repeats, number=args.number, rows=rows)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main()
