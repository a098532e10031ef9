"""Time the voxel-grid kernel against np.add.at and torch index_add_ on the same events.

Example::

    python tools/analysis_tools/benchmark_voxel.py --json work_dirs/benchmark_voxel.json

All three build the same two-polarity, time-bilinear grid (checked before timing) from
the same events: uniform pixels of a 1280×720 sensor (the worst case for cache locality;
real events cluster on the target), uniform times in a 100 ms window, random polarity,
with the reader's dtypes. Each method runs once untimed (numba compiles), then
``--repeats`` rounds in which the methods take turns, each called ``--calls`` times in a
row (default 2): the last call is the figure (its events and output buffer are warm, as
in a DataLoader worker that has just read the window's events), the first is reported
beside it as "after others" (the other methods' large temporaries have just evicted the
events from the cache). The best round counts. Where the caches are slow to refill, later
calls keep getting faster; ``--calls 4`` shows by how much. Single-threaded by default,
like a dataloader worker. The table also gives each method's largest absolute deviation
from the float64 ``np.add.at`` grid (the kernel accumulates in float32 where that stays
within 1e-5).
Goals checked at 1e6 events (back to back): ``--min-speedup`` over ``np.add.at`` and
``--min-mevents`` million events per second for the kernel.
"""
import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
import torch

from sparkpose.datasets.transforms.voxel_kernels import voxel_grid_fused, voxel_grid_reference


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', type=float, nargs='+', default=[1e5, 1e6, 5e6],
                        help='event counts per window')
    parser.add_argument('--repeats', type=int, default=7,
                        help='timed rounds (the best counts)')
    parser.add_argument('--num-bins', type=int, default=5)
    parser.add_argument('--input-size', type=int, nargs=2, default=[256, 256],
                        metavar=('W', 'H'))
    parser.add_argument('--sensor-size', type=int, nargs=2, default=[1280, 720],
                        metavar=('W', 'H'))
    parser.add_argument('--window-us', type=int, default=100_000)
    parser.add_argument('--calls', type=int, default=2,
                        help='calls in a row per turn (>= 2): the last is the back-to-back '
                             'figure; more show how far the caches are from warm')
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    parser.add_argument('--min-speedup', type=float, default=3.0,
                        help='fail (exit 1) if the kernel is not this much faster than '
                             'np.add.at at 1e6 events')
    parser.add_argument('--min-mevents', type=float, default=300.0,
                        help='fail (exit 1) if the kernel does fewer million events/s at '
                             '1e6 events (one core)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', help='write the figures to this file')
    args = parser.parse_args()
    if args.calls < 2:
        parser.error(f'--calls must be at least 2 (one after the others, one back to back), '
                     f'got {args.calls}')
    return args


def voxel_grid_torch(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray,
                     t_start: int, t_end: int, num_bins: int, sensor_w: int, sensor_h: int,
                     out_w: int, out_h: int) -> np.ndarray:
    """The same grid with vectorised torch ops and ``index_add_`` (float64 accumulation)."""
    xs = torch.from_numpy(x.astype(np.int64))
    ys = torch.from_numpy(y.astype(np.int64))
    tau = torch.from_numpy(t - t_start).double() * ((num_bins - 1) / (t_end - t_start))
    b = tau.floor().long()
    frac = tau - b
    channel = torch.where(torch.from_numpy(p) > 0, 0, num_bins) + b
    flat = (channel * out_h + (2 * ys + 1) * out_h // (2 * sensor_h)) * out_w \
        + (2 * xs + 1) * out_w // (2 * sensor_w)
    grid = torch.zeros(2 * num_bins * out_h * out_w, dtype=torch.float64)
    grid.index_add_(0, flat, 1.0 - frac)
    upper = b + 1 < num_bins
    grid.index_add_(0, flat[upper] + out_h * out_w, frac[upper])
    return grid.view(2 * num_bins, out_h, out_w).float().numpy()


def best_times(methods: dict[str, Callable], args: tuple, repeats: int, calls: int = 2
               ) -> dict[str, tuple[float, float]]:
    """Best wall times (s) per method: ``(back-to-back, after the other methods)``.

    The methods take turns within each round, so a burst of load from other processes
    slows all of them rather than one; within its turn a method runs ``calls`` times in a
    row: the first call is "after the others", the last one the back-to-back figure.
    """
    for fn in methods.values():
        fn(*args)
    times = {name: ([], []) for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            for call in range(calls):
                start = time.perf_counter()
                fn(*args)
                elapsed = time.perf_counter() - start
                if call in (0, calls - 1):
                    times[name][call == 0].append(elapsed)
    return {name: (min(warm), min(cold)) for name, (warm, cold) in times.items()}


def main() -> int:
    args = parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    (sensor_w, sensor_h), (out_w, out_h) = args.sensor_size, args.input_size
    methods = {
        'sparkpose fused (numba)': lambda *a: voxel_grid_fused(*a)[0],
        'numpy np.add.at': voxel_grid_reference,
        'torch index_add_': voxel_grid_torch,
    }
    rows = []
    for size in args.sizes:
        n = int(size)
        events = (rng.integers(0, sensor_w, n).astype(np.uint16),
                  rng.integers(0, sensor_h, n).astype(np.uint16),
                  np.sort(rng.integers(1, args.window_us + 1, n)),
                  rng.integers(0, 2, n).astype(np.uint8))
        call = (*events, 0, args.window_us, args.num_bins, sensor_w, sensor_h, out_w, out_h)
        reference = voxel_grid_reference(*call)
        deviation = {}
        for name, fn in methods.items():
            grid = fn(*call)
            if not np.allclose(grid, reference, rtol=1e-5, atol=1e-5):
                raise RuntimeError(f'{name} disagrees with np.add.at at {n} events')
            deviation[name] = float(np.abs(grid - reference).max())
        seconds = best_times(methods, call, args.repeats, args.calls)
        for name, (sec, after_others) in seconds.items():
            rows.append(dict(events=n, method=name, best_ms=sec * 1e3,
                             mevents_per_s=n / sec / 1e6,
                             after_others_ms=after_others * 1e3,
                             mevents_per_s_after_others=n / after_others / 1e6,
                             speedup_vs_add_at=seconds['numpy np.add.at'][0] / sec,
                             max_abs_dev_vs_float64=deviation[name]))

    print(f'voxel grid: {args.num_bins} bins x 2 polarities, {sensor_w}x{sensor_h} -> '
          f'{out_w}x{out_h}, {args.window_us} us window, best of {args.repeats} rounds of '
          f'{args.calls} calls, torch threads {args.threads}, load average '
          f'{os.getloadavg()[0]:.2f}')
    print(f'{"events":>9}  {"method":<24} {"best ms":>9} {"Mev/s":>8} {"vs add.at":>9} '
          f'{"after others: ms":>16} {"Mev/s":>8} {"max |dev| vs f64":>16}')
    for row in rows:
        print(f'{row["events"]:>9}  {row["method"]:<24} {row["best_ms"]:>9.2f} '
              f'{row["mevents_per_s"]:>8.1f} {row["speedup_vs_add_at"]:>8.2f}x '
              f'{row["after_others_ms"]:>16.2f} {row["mevents_per_s_after_others"]:>8.1f} '
              f'{row["max_abs_dev_vs_float64"]:>16.2e}')

    at_1e6 = [r for r in rows
              if r['events'] == 1_000_000 and r['method'].startswith('sparkpose')]
    passed = all(r['speedup_vs_add_at'] >= args.min_speedup
                 and r['mevents_per_s'] >= args.min_mevents for r in at_1e6)
    if at_1e6:
        print(f'kernel at 1e6 events: {at_1e6[0]["mevents_per_s"]:.0f} M events/s back to back '
              f'(call {args.calls} in a row; '
              f'{at_1e6[0]["mevents_per_s_after_others"]:.0f} after the others), '
              f'{at_1e6[0]["speedup_vs_add_at"]:.2f}x np.add.at '
              f'({"PASS" if passed else "FAIL"}: need >= {args.min_mevents:.0f} M events/s '
              f'and >= {args.min_speedup}x)')
    if args.json:
        info = dict(python=platform.python_version(), numpy=np.__version__,
                    numba=numba.__version__, torch=torch.__version__,
                    machine=platform.machine(), processor=platform.processor(),
                    load_average=os.getloadavg())
        config = {k: v for k, v in vars(args).items() if k != 'json'}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(dict(config=config, versions=info, results=rows), f, indent=2)
    return 0 if passed else 1


if __name__ == '__main__':
    raise SystemExit(main())
