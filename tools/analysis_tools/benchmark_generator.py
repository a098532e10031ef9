"""Measure the synthetic generator: CPU cost, event statistics, peak memory, profile.

Examples::

    # the reference figure: 4 trajectories x 2 s at 1280x720, one process
    python tools/analysis_tools/benchmark_generator.py --resolution 1280x720 \\
        --duration 2 --num-sequences 4 --json work_dirs/benchmark_generator.json
    # where a simulated second goes (cProfile with a CPU-time clock)
    python tools/analysis_tools/benchmark_generator.py --duration 2 --profile
    # one 60-s trajectory: peak RSS must not grow with the duration
    python tools/analysis_tools/benchmark_generator.py --duration 60 --num-sequences 1

CPU time, not wall time, is the figure (the process's own plus its finished workers'),
so a busy machine inflates it little. One untimed 0.2-s trajectory runs first: it loads
the compiled kernels, whose cost is reported apart as ``warmup_cpu_s``. Three 0.1-s
trajectories then give the per-trajectory start-up cost. Event statistics
are read back from the written files over the reader's windows ``(t - 100 ms, t]``:
events per window, the ON fraction, and an edge-sharpness figure, the contrast
``sum(c²) / sum(c)`` of the event-count image ``c`` of each window's last 10 ms (sharp
edges put many events on few pixels). Peak RSS is taken before the files are read back.
"""
import argparse
import cProfile
import json
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from sparkpose.simulation import TICKS_PER_SECOND, SequenceOptions, write_sequence

# Profile phases: (file name, function name) whose cumulative CPU time makes the phase;
# a phase nested in another is subtracted from it.
PHASES = {
    'set-up (trajectory, thresholds, frame times)': [
        ('trajectory.py', 'random_trajectory'), ('event_simulator.py', '__init__'),
        ('sequence.py', 'frame_times')],
    'ray casting': [('renderer.py', 'render_region')],
    'shading, grid lines, shadow rays': [('renderer.py', '_shade')],
    'event model': [('event_simulator.py', 'step')],
    'noise': [('event_simulator.py', 'noise_events')],
    'writing': [('spades_writer.py', 'write_spades_file'), ('spades_writer.py', 'append'),
                ('spades_writer.py', 'close')],
}
NESTED = {'ray casting': 'shading, grid lines, shadow rays'}
SHARPNESS_SLICE_S = 0.01
SHORTEST_RUNS = 3
WINDOW_S = 0.1


def parse_resolution(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split('x'))
    return width, height


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--resolution', type=parse_resolution, default=(1280, 720),
                        help='sensor WxH')
    parser.add_argument('--duration', type=float, default=2.0, help='seconds per trajectory')
    parser.add_argument('--num-sequences', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-tumble-rate', type=float, default=SequenceOptions.max_tumble_rate)
    parser.add_argument('--min-tumble-rate', type=float, default=None)
    parser.add_argument('--profile', action='store_true',
                        help='also print where the CPU time goes (cProfile, CPU clock)')
    parser.add_argument('--out', type=Path,
                        help='keep the files here (default: a temporary folder)')
    parser.add_argument('--json', type=Path, help='write the figures to this file')
    return parser.parse_args(argv)


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def peak_rss_mb() -> float:
    """Largest resident set (MB) of this process or of any finished child."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def window_statistics(paths: list[Path], ticks_per_second: int,
                      chunk: int = 1 << 22) -> dict:
    """Events per labelled window, ON fraction and edge sharpness of the written files.

    Files are read in chunks: for a sorted ``ts`` the position of a boundary is the sum of
    its positions in the chunks.
    """
    window, slice_ticks = round(WINDOW_S * ticks_per_second), round(
        SHARPNESS_SLICE_S * ticks_per_second)
    counts, sharpness, on, total = [], [], 0, 0
    for path in paths:
        with h5py.File(path, 'r') as f:
            events, stamps = f['events'], f['labels/data']['timestamp']
            edges = np.stack([stamps - window, stamps - slice_ticks, stamps])
            bounds = np.zeros(edges.shape, np.int64)
            for start in range(0, len(events['ts']), chunk):
                bounds += np.searchsorted(events['ts'][start:start + chunk], edges, 'right')
                on += int(events['ps'][start:start + chunk].sum(dtype=np.int64))
            total += len(events['ts'])
            counts.extend(bounds[2] - bounds[0])
            for lo, hi in zip(bounds[1], bounds[2]):
                pixel = events['xs'][lo:hi].astype(np.int64) * 65536 + events['ys'][lo:hi]
                per_pixel = np.unique(pixel, return_counts=True)[1]
                if len(per_pixel):
                    sharpness.append(float((per_pixel ** 2).sum() / per_pixel.sum()))
    counts = np.asarray(counts)
    return dict(num_windows=len(counts), events_per_window_median=float(np.median(counts)),
                events_per_window_p10=float(np.percentile(counts, 10)),
                events_per_window_p90=float(np.percentile(counts, 90)),
                on_fraction=on / max(total, 1), num_events=total,
                edge_sharpness=float(np.median(sharpness)))


def phase_table(profile: cProfile.Profile, total: float) -> list[dict]:
    """CPU seconds per phase from a profile; ``other`` is what no phase claims."""
    cumulative = {}
    for (filename, _, function), (_, _, _, cum, _) in pstats.Stats(profile).stats.items():
        key = (Path(filename).name, function)
        cumulative[key] = cumulative.get(key, 0.0) + cum
    seconds = {phase: sum(cumulative.get(key, 0.0) for key in keys)
               for phase, keys in PHASES.items()}
    for outer, inner in NESTED.items():
        seconds[outer] -= seconds[inner]
    seconds['other (merging, sorting, labels)'] = total - sum(seconds.values())
    return [dict(phase=phase, cpu_s=sec, share=sec / total) for phase, sec in seconds.items()]


def run(args: argparse.Namespace, out: Path) -> dict:
    import_rss = peak_rss_mb()  # the interpreter and its libraries (the generator has no torch)
    options = SequenceOptions(duration=args.duration, resolution=tuple(args.resolution),
                              max_tumble_rate=args.max_tumble_rate,
                              min_tumble_rate=args.min_tumble_rate)
    start = cpu_seconds()
    write_sequence(out / 'warmup', args.seed, 0, SequenceOptions(
        duration=0.2, resolution=tuple(args.resolution)))
    warmup = cpu_seconds() - start
    # Start-up cost of a trajectory: the shortest one (0.1 s, one label) less its share
    # of the per-second cost below.
    start = cpu_seconds()
    for index in range(SHORTEST_RUNS):
        write_sequence(out / 'shortest', args.seed, index, SequenceOptions(
            duration=0.1, resolution=tuple(args.resolution),
            max_tumble_rate=args.max_tumble_rate, min_tumble_rate=args.min_tumble_rate))
    shortest = (cpu_seconds() - start) / SHORTEST_RUNS
    profile = cProfile.Profile(time.process_time) if args.profile else None
    start, wall = cpu_seconds(), time.perf_counter()
    if profile:
        profile.enable()
    paths = [write_sequence(out, args.seed, i, options) for i in range(args.num_sequences)]
    if profile:
        profile.disable()
    cpu, wall = cpu_seconds() - start, time.perf_counter() - wall
    peak_rss = peak_rss_mb()  # before the files are read back
    simulated = args.num_sequences * args.duration
    stats = window_statistics(paths, TICKS_PER_SECOND[options.time_unit])
    result = dict(resolution=list(args.resolution), duration_s=args.duration,
                  num_sequences=args.num_sequences, seed=args.seed, warmup_cpu_s=warmup,
                  cpu_s=cpu, wall_s=wall, cpu_s_per_simulated_s=cpu / simulated,
                  cpu_s_per_window=cpu / stats['num_windows'],
                  cpu_s_per_trajectory=cpu / args.num_sequences,
                  cpu_s_shortest_trajectory=shortest,
                  startup_cpu_s=max(shortest - 0.1 * cpu / simulated, 0.0),
                  file_mb=sum(p.stat().st_size for p in paths) / 1e6 / args.num_sequences,
                  peak_rss_mb=peak_rss, import_rss_mb=import_rss, **stats)
    if profile:
        result['profile'] = phase_table(profile, cpu)
    return result


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.out is None:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(args, Path(tmp))
    else:
        result = run(args, args.out)
    width, height = result['resolution']
    print(f'generator: {args.num_sequences} x {args.duration:g} s at {width}x{height}, '
          f'seed {args.seed}, one process')
    print(f'  CPU-s per simulated second  {result["cpu_s_per_simulated_s"]:.3f}')
    print(f'  CPU-s per labelled window   {result["cpu_s_per_window"]:.4f}')
    print(f'  CPU-s per trajectory        {result["cpu_s_per_trajectory"]:.2f} '
          f'(kernel load / warm-up {result["warmup_cpu_s"]:.2f} once per process)')
    print(f'  CPU-s per 0.1-s trajectory  {result["cpu_s_shortest_trajectory"]:.3f} '
          f'(start-up about {result["startup_cpu_s"]:.3f})')
    print(f'  events per window           {result["events_per_window_median"]:.0f} median, '
          f'{result["events_per_window_p10"]:.0f}-{result["events_per_window_p90"]:.0f} '
          f'p10-p90 ({result["num_windows"]} windows)')
    print(f'  ON fraction                 {result["on_fraction"]:.3f}')
    print(f'  edge sharpness (10 ms)      {result["edge_sharpness"]:.2f} events per pixel')
    print(f'  file size per trajectory    {result["file_mb"]:.1f} MB')
    print(f'  peak RSS                    {result["peak_rss_mb"]:.0f} MB '
          f'({result["import_rss_mb"]:.0f} MB after imports, before generating)')
    for row in result.get('profile', []):
        print(f'  {row["phase"]:<46} {row["cpu_s"]:8.2f} CPU-s {100 * row["share"]:5.1f} %')
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main(sys.argv[1:])
