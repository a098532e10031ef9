"""Held-out error against the number of distinct training trajectories, at a fixed budget.

For each config and each size N, trains on the first N trajectories of the training split
for the same number of iterations (so every point costs the same CPU time), evaluates the
last checkpoint on the evaluation split with ``tools/test.py`` and prints one table row:
rotation error (median, plain and modulo the body's symmetries), position error, and the
fraction under 30°.

Example (the README's learning curve)::

    python tools/analysis_tools/learning_curve.py \\
        configs/keypoint/kpt_voxelcnn-fusion_1xb32-9e_synthetic-crop64.py \\
        configs/voxelcnn/rot6d-sym_voxelcnn_1xb32-20e_synthetic-crop64.py \\
        --data-root data/demo --sizes 40 160 640 --iters 1600
"""
import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

from sparkpose.datasets import read_labels, read_split

TOOLS = Path(__file__).resolve().parents[1]
COLUMNS = (('rot_err_deg_median', 'rot median (deg)', '.1f'),
           ('rot_err_sym_deg_median', 'rot mod sym median (deg)', '.1f'),
           ('rot_acc_30', 'rot < 30 deg', '.3f'),
           ('pos_err_m_median', 'pos median (m)', '.3f'),
           ('pnp_success_rate', 'PnP success', '.3f'))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', type=Path)
    parser.add_argument('--data-root', type=Path, required=True)
    parser.add_argument('--train-split', default='train.txt')
    parser.add_argument('--eval-split', default='test.txt')
    parser.add_argument('--sizes', type=int, nargs='+', default=[40, 160, 640],
                        help='numbers of training trajectories (first N of the split)')
    parser.add_argument('--iters', type=int, default=1600,
                        help='training iterations per point (the same CPU budget for all)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--work-dir', type=Path, default=Path('work_dirs/learning_curve'))
    parser.add_argument('--rerun', action='store_true',
                        help='train again even where a point already has test metrics')
    return parser.parse_args(argv)


def run(command: list[str], log: Path) -> None:
    """Run a tool, its output to ``log``; a failure names the log."""
    with open(log, 'w') as f:
        if subprocess.call(command, stdout=f, stderr=subprocess.STDOUT):
            raise SystemExit(f'{" ".join(command[:3])} ... failed; see {log}')


def train_and_test(config: Path, args: argparse.Namespace, size: int, names: list[str]
                   ) -> dict:
    """Train on ``names[:size]`` for ``args.iters`` iterations; the test metrics."""
    work_dir = args.work_dir / config.stem / f'n{size}'
    done = list((work_dir / 'test').glob('*/metrics.json'))
    if done and not args.rerun:  # a finished point of an interrupted curve
        return read_metrics(done)
    work_dir.mkdir(parents=True, exist_ok=True)
    split = args.data_root / f'{Path(args.train_split).stem}_first{size}.txt'
    split.write_text('\n'.join(names[:size]) + '\n')
    windows_per_trajectory = max(1, round(args.num_windows / len(names)))
    iters_per_epoch = math.ceil(size * windows_per_trajectory / args.batch_size)
    epochs = max(1, round(args.iters / iters_per_epoch))
    options = [f'train_dataloader.dataset.split={split.name}',
               f'test_dataloader.dataset.split={args.eval_split}',
               f'train_dataloader.batch_size={args.batch_size}',
               f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs + 1}',
               f'param_scheduler.1.T_max={epochs}', f'param_scheduler.1.end={epochs}',
               'default_hooks.checkpoint.save_best=None']
    data = ['--data-root', str(args.data_root)]
    run([sys.executable, str(TOOLS / 'train.py'), str(config), *data, '--work-dir', str(work_dir),
         '--cfg-options', *options], work_dir / 'train.out')
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    run([sys.executable, str(TOOLS / 'test.py'), str(config), checkpoint, '--work-dir',
         str(work_dir / 'test'), *data, '--cfg-options', *options], work_dir / 'test.out')
    return read_metrics(list((work_dir / 'test').glob('*/metrics.json')))


def read_metrics(paths: list[Path]) -> dict:
    """The newest ``tools/test.py`` metrics, prefix dropped, plus the epochs trained."""
    data = json.loads(max(paths, key=lambda p: p.stat().st_mtime).read_text())
    epochs = int(Path(data['checkpoint']).stem.split('_')[-1])
    return {key.split('/', 1)[-1]: value for key, value in data['metrics'].items()} | dict(
        epochs=epochs)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    names = read_split(str(args.data_root), str(args.data_root / args.train_split))
    if max(args.sizes) > len(names):
        raise SystemExit(f'--sizes {args.sizes}: {args.train_split} has only {len(names)} '
                         f'trajectories')
    args.num_windows = sum(len(read_labels(str(args.data_root / f'{n}.h5'))) for n in names)
    rows = []
    header = ['config', 'trajectories', 'epochs'] + [title for _, title, _ in COLUMNS]
    print('| ' + ' | '.join(header) + ' |\n|' + '---|' * len(header), flush=True)
    for config in args.configs:
        for size in args.sizes:
            metrics = train_and_test(config, args, size, names)
            cells = [config.stem, str(size), str(metrics['epochs'])] + [
                format(metrics[key], fmt) if key in metrics else '-' for key, _, fmt in COLUMNS]
            print('| ' + ' | '.join(cells) + ' |', flush=True)
            rows.append(dict(config=str(config), trajectories=size, **metrics))
    out = args.work_dir / 'learning_curve.json'
    out.write_text(json.dumps(rows, indent=1))
    print(f'rows written to {out}')
    return rows


if __name__ == '__main__':
    main()
