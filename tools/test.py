"""Evaluate a checkpoint on the test split (mmpose/mmdet-style command line).

Prints the raw per-window figures beside the sequence-filtered ones (tracked, offline,
causal) and the windows per pose status. Writes the metrics as JSON to
``<work_dir>/<timestamp>/metrics.json``; ``--out`` also dumps every prediction to a CSV
(``DumpPosePredictions``); ``--show-dir`` draws every test sample (event image,
ground-truth and predicted pose) with ``PoseVisualizationHook``.

Examples:
    python tools/test.py CONFIG work_dirs/x/best_pose_speed_mean_epoch_28.pth
    python tools/test.py CONFIG CHECKPOINT --out work_dirs/x/predictions.csv
    python tools/test.py CONFIG CHECKPOINT --show-dir vis_test
"""
import argparse
import json
import os.path as osp

from mmengine.config import Config, ConfigDict
from mmengine.runner import Runner

from sparkpose.engine import (
    add_common_arguments,
    apply_common_options,
    atomic_write_bytes,
    load_checkpoint_safely,
    parse_tool_args,
    use_checkpoint_body_model,
)
from sparkpose.evaluation import raw_and_filtered_table
from sparkpose.registry import RUNNERS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a sparkpose model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', metavar='FILE.csv',
                        help='also write every prediction to this CSV file')
    parser.add_argument('--show-dir', metavar='DIR',
                        help='draw the test samples (event image with GT and predicted pose) '
                        'into DIR, relative to <work_dir>/<timestamp> unless absolute')
    parser.add_argument('--non-strict', action='store_true',
                        help='load a checkpoint whose tensors do not all match the model '
                        '(a deliberate partial load); by default a mismatch is an error')
    add_common_arguments(parser, 'test_dataloader.batch_size=8')
    return parse_tool_args(parser)


def add_dump_metric(cfg: Config, out_file: str) -> None:
    """Append ``DumpPosePredictions(out_file)`` to ``cfg.test_evaluator`` (made a list)."""
    if not out_file.endswith('.csv'):
        raise ValueError(f'--out must name a .csv file, got {out_file!r}')
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, dict) and 'metrics' in evaluator:  # an Evaluator config
        metrics = evaluator['metrics']
        evaluator['metrics'] = (list(metrics) if isinstance(metrics, list | tuple)
                                else [metrics])
        evaluator['metrics'].append(ConfigDict(type='DumpPosePredictions', out_file=out_file))
        return
    metrics = list(evaluator) if isinstance(evaluator, list | tuple) else [evaluator]
    cfg.test_evaluator = [*metrics, ConfigDict(type='DumpPosePredictions', out_file=out_file)]


def add_show_hook(cfg: Config, show_dir: str) -> None:
    """Make ``PoseVisualizationHook`` draw the test set into ``show_dir``.

    A ``PoseVisualizationHook`` already in ``cfg.custom_hooks`` gets ``test_out_dir``;
    otherwise one is appended.
    """
    hooks = list(cfg.get('custom_hooks') or [])
    for hook in hooks:
        if hook.get('type') in ('PoseVisualizationHook', 'sparkpose.PoseVisualizationHook'):
            hook['test_out_dir'] = show_dir
            break
    else:
        hooks.append(ConfigDict(type='PoseVisualizationHook', test_out_dir=show_dir))
    cfg.custom_hooks = hooks


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line options to ``cfg``."""
    apply_common_options(cfg, args.config, args.cfg_options, args.launcher, args.work_dir,
                         args.verbose, args.data_root)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    cfg.load_strict = not args.non_strict
    if args.out:
        add_dump_metric(cfg, args.out)
    if args.show_dir:
        add_show_hook(cfg, args.show_dir)
    return cfg


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    # The body model the checkpoint was trained with wins over any body.json on disk.
    body = use_checkpoint_body_model(cfg, load_checkpoint_safely(args.checkpoint, 'cpu'))
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    if body is not None:
        runner.logger.info(f"Body model from the checkpoint's meta (copied to {body})")
    metrics = runner.test()
    if runner.rank == 0:
        path = osp.join(runner.log_dir, 'metrics.json')
        report = dict(config=args.config, checkpoint=args.checkpoint, metrics=metrics)
        atomic_write_bytes(json.dumps(report, indent=2, default=float).encode(), path)
        runner.logger.info(f'Metrics written to {path}')
        table = raw_and_filtered_table(metrics)
        if table:
            runner.logger.info('Raw windows and sequence filters (PoseMetric.sequence_filters):'
                               f'\n{table}')


if __name__ == '__main__':
    main()
