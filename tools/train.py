"""Train a pose estimator from a config (mmpose/mmdet-style command line).

Examples:
    python tools/train.py configs/voxelcnn/rot6d_voxelcnn_1xb32-30e_synthetic-128x128.py
    python tools/train.py CONFIG --amp --resume            # resume the latest checkpoint
    python tools/train.py CONFIG --amp --compile           # torch.compile the forward
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth  # resume this checkpoint
    python tools/train.py CONFIG --cfg-options train_cfg.max_epochs=40 randomness.seed=1
    python tools/train.py CONFIG --body-model work_dirs/demo/body_reconstructed.json
    torchrun --nproc-per-node 2 tools/train.py CONFIG --launcher pytorch
"""
import argparse

from mmengine.config import Config
from mmengine.runner import Runner

from sparkpose.engine import (
    AMP_DTYPES,
    add_common_arguments,
    apply_common_options,
    enable_amp,
    parse_tool_args,
    point_at_body_model,
)
from sparkpose.registry import RUNNERS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a sparkpose model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', nargs='?', type=str, const='auto', metavar='CHECKPOINT',
                        help='resume from CHECKPOINT, or without a value from the latest '
                        'checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision training (GPU only; float32 elsewhere)')
    parser.add_argument('--amp-dtype', choices=AMP_DTYPES, default='float16',
                        help='autocast dtype for --amp (float16 uses dynamic loss scaling)')
    parser.add_argument('--compile', action='store_true',
                        help="torch.compile the model's forward (first iterations are slow "
                        'while it compiles; off by default)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by total batch size / '
                        'auto_scale_lr.base_batch_size')
    parser.add_argument('--seed', type=int, help='random seed (overrides randomness.seed)')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic algorithms (bit-identical reruns and resumes)')
    parser.add_argument('--body-model', metavar='FILE',
                        help='train against this body.json (head, metrics, hooks; after '
                        '--data-root), e.g. one reconstruct_body.py made; the checkpoint '
                        'carries it')
    add_common_arguments(parser, 'train_cfg.max_epochs=5')
    return parse_tool_args(parser)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line options to ``cfg``."""
    apply_common_options(cfg, args.config, args.cfg_options, args.launcher, args.work_dir,
                         args.verbose, args.data_root)
    if args.body_model:
        point_at_body_model(cfg, args.body_model)

    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume

    if args.amp:
        cfg.optim_wrapper = enable_amp(cfg.optim_wrapper, args.amp_dtype)

    if args.compile:
        cfg.compile = True

    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise KeyError(f'{args.config}: --auto-scale-lr needs '
                           'auto_scale_lr = dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True

    randomness = dict(cfg.get('randomness') or {})
    if args.seed is not None:
        randomness['seed'] = args.seed
    if args.deterministic:
        randomness['deterministic'] = True
    cfg.randomness = randomness
    return cfg


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
