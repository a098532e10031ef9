"""One checkpoint on test sets beyond its training conditions: sensor size, tumble rate,
event rate, contrast threshold and noise.

Each set is generated once (cached under ``--data-dir``; a set is complete when its
``test.txt`` exists) with a seed that no config or test uses, evaluated with
``tools/test.py``, and printed as one table row beside the uniformly-random-rotation
reference of the same windows. The thinned sets are copies of another set's files that
keep a random sixth of each file's events, as a real sensor's sparser streams would.

Example (the README's robustness table)::

    python tools/analysis_tools/robustness.py \\
        configs/keypoint/kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py \\
        $(cat work_dirs/demo/last_checkpoint) --seed 20261205 --workers 2
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

from sparkpose.datasets import read_labels, read_split
from sparkpose.simulation import write_spades_file

TOOLS = Path(__file__).resolve().parents[1]
DEMO = ['--preset', 'demo']
SLOW = ['--duration', '2', '--min-tumble-rate', '2.5', '--max-tumble-rate', '10']
# name -> (what it tests, generator flags beyond --out/--seed/--split/--workers/
# --num-sequences, trajectories at --scale 1 (240 windows), or the name of the set whose
# files it thins).
SETS = {
    'demo': ('demo conditions: 320x180, 30-120 deg/s', DEMO, 24),
    'demo-slow': ('320x180, slow tumble 2.5-10 deg/s', [*DEMO, *SLOW], 12),
    'mid-fast': ('640x360, 30-120 deg/s', [*DEMO, '--resolution', '640x360'], 24),
    'full-fast': ('1280x720, 30-120 deg/s', [*DEMO, '--resolution', '1280x720'], 24),
    'spades': ("SPADES' terms: 1280x720, 2.5-10 deg/s", ['--resolution', '1280x720', *SLOW],
               12),
    'contrast-x0.5': ('demo, contrast thresholds 0.1-0.15 (~2x the events)',
                      [*DEMO, '--contrast-threshold', '0.1', '0.15'], 24),
    'contrast-x2': ('demo, contrast thresholds 0.4-0.6 (~1/2 the events)',
                    [*DEMO, '--contrast-threshold', '0.4', '0.6'], 24),
    'noise-x5': ('demo, leak and shot noise x5',
                 [*DEMO, '--leak-rate', '0.5', '--shot-noise-rate', '0.25'], 24),
    'demo-thin6': ('the demo set, a random sixth of the events kept', 'demo', None),
    'spades-thin6': ("the SPADES' terms set, a random sixth of the events kept", 'spades',
                     None),
}
THIN_KEEP = 1 / 6
REFERENCE_DRAWS = 20  # random rotations per window: the reference is stable to ~1 deg


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--seed', type=int, default=20261205,
                        help='generator seed of every set (use one no config or test uses)')
    parser.add_argument('--sets', nargs='+', choices=sorted(SETS), default=list(SETS),
                        help='which sets (default: all)')
    parser.add_argument('--scale', type=int, default=1,
                        help='trajectories per set times this (1: 240 windows a set; a '
                             "median over 24 trajectories moves by ~2 deg between seeds)")
    parser.add_argument('--data-dir', type=Path, default=Path('data/robustness'),
                        help='generated sets go to <data-dir>/seed<seed>[x<scale>]/<set>')
    parser.add_argument('--work-dir', type=Path, default=Path('work_dirs/robustness'))
    parser.add_argument('--workers', type=int, default=2, help='generator processes')
    parser.add_argument('--cfg-options', nargs='*', default=[], metavar='KEY=VALUE',
                        help='passed on to tools/test.py (the set\'s data_root and split '
                             'win over them)')
    parser.add_argument('--json', type=Path, help='also write the rows to this file')
    parser.add_argument('--prepare-only', action='store_true',
                        help='generate the sets and stop (then evaluate checkpoints in '
                             'parallel without racing to make them)')
    return parser.parse_args(argv)


def set_folder(args: argparse.Namespace) -> str:
    """``seed<seed>``, with ``x<scale>`` for scaled sets."""
    return f'seed{args.seed}' + (f'x{args.scale}' if args.scale > 1 else '')


def run(command: list[str], log: Path) -> None:
    """Run a tool, its output to ``log``; a failure names the log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, 'w') as f:
        if subprocess.call(command, stdout=f, stderr=subprocess.STDOUT):
            raise SystemExit(f'{" ".join(command[:3])} ... failed; see {log}')


def make_set(name: str, root: Path, args: argparse.Namespace) -> Path:
    """Generate (or thin a copy of) set ``name`` under ``root`` unless it is complete."""
    out = root / name
    if (out / 'test.txt').is_file():
        return out
    _, flags, count = SETS[name]
    if isinstance(flags, str):
        thin_copy(make_set(flags, root, args), out, THIN_KEEP, args.seed)
    else:
        run([sys.executable, str(TOOLS / 'dataset_converters' / 'generate_synthetic.py'),
             '--out', str(out), '--seed', str(args.seed), '--split', '0', '0', '1',
             '--workers', str(args.workers), '--num-sequences', str(count * args.scale),
             *flags], root / f'{name}.generate.log')
    return out


def thin_copy(source: Path, out: Path, keep: float, seed: int) -> None:
    """Copy a set, keeping each event of each file with probability ``keep``."""
    out.mkdir(parents=True, exist_ok=True)
    names = read_split(str(source), str(source / 'test.txt'))
    for i, name in enumerate(names):
        with h5py.File(source / f'{name}.h5', 'r') as f:
            events = {k: f['events'][k][()] for k in ('xs', 'ys', 'ts', 'ps')}
            attrs = dict(f.attrs)
        kept = np.random.default_rng([seed, i]).random(len(events['ts'])) < keep
        write_spades_file(out / f'{name}.h5', {k: v[kept] for k, v in events.items()},
                          read_labels(source / f'{name}.h5'))
        if attrs:
            with h5py.File(out / f'{name}.h5', 'a') as f:
                f.attrs.update(attrs)
    for extra in ('camera.json', 'body.json'):
        (out / extra).write_bytes((source / extra).read_bytes())
    (out / 'test.txt').write_text((source / 'test.txt').read_text())  # last: marks complete


def evaluate(name: str, data: Path, args: argparse.Namespace) -> dict:
    """``tools/test.py`` on a set's test split; its metrics, prefix dropped."""
    work_dir = args.work_dir / set_folder(args) / name
    options = [*args.cfg_options, f'test_dataloader.dataset.data_root={data}/',
               'test_dataloader.dataset.split=test.txt']
    run([sys.executable, str(TOOLS / 'test.py'), args.config, args.checkpoint,
         '--work-dir', str(work_dir), '--cfg-options', *options], work_dir / 'test.out')
    newest = max(work_dir.glob('*/metrics.json'), key=lambda p: p.stat().st_mtime)
    metrics = json.loads(newest.read_text())['metrics']
    return {key.split('/', 1)[-1]: value for key, value in metrics.items()}


def random_reference(data: Path) -> tuple[float, float]:
    """Median and mean rotation error (deg) of uniformly random rotations on a set."""
    names = read_split(str(data), str(data / 'test.txt'))
    q = np.concatenate([np.stack([read_labels(data / f'{n}.h5')[k] for k in
                                  ('Qx', 'Qy', 'Qz', 'Qw')], axis=1) for n in names])
    draws = np.random.default_rng(0).normal(size=(REFERENCE_DRAWS, *q.shape))
    draws /= np.linalg.norm(draws, axis=-1, keepdims=True)
    errors = np.degrees(2 * np.arccos(np.clip(np.abs((draws * q).sum(-1)), 0, 1)))
    return float(np.median(errors)), float(errors.mean())


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    root = args.data_dir / set_folder(args)
    if args.prepare_only:
        for name in args.sets:
            print(f'{name}: {make_set(name, root, args)}', flush=True)
        return []
    header = ['set', 'windows', 'rot median / mean (deg)', 'rot mod sym median (deg)',
              'rot < 30 deg', 'pos median (m)', 'PnP success', 'random rot median / mean']
    print(f'{Path(args.checkpoint).name} on sets of seed {args.seed}, scale {args.scale}\n'
          f'| {" | ".join(header)} |\n|{"---|" * len(header)}', flush=True)
    rows = []
    for name in args.sets:
        data = make_set(name, root, args)
        metrics = evaluate(name, data, args)
        reference = random_reference(data)
        rows.append(dict(set=name, description=SETS[name][0], metrics=metrics,
                         random_rotation_median_mean=reference))
        pnp = metrics.get('pnp_success_rate')
        if args.json:  # after every set: an interrupted run keeps what it measured
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(rows, indent=2))
        print(f'| {name} | {metrics["num_windows"]} | {metrics["rot_err_deg_median"]:.1f} / '
              f'{metrics["rot_err_deg_mean"]:.1f} | {metrics["rot_err_sym_deg_median"]:.1f} | '
              f'{metrics["rot_acc_30"]:.3f} | {metrics["pos_err_m_median"]:.3f} | '
              f'{"-" if pnp is None else f"{pnp:.3f}"} | {reference[0]:.1f} / '
              f'{reference[1]:.1f} |', flush=True)
    return rows


if __name__ == '__main__':
    main()
