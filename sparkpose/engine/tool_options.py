"""The command-line options that ``tools/train.py`` and ``tools/test.py`` share."""
import argparse
import os
import os.path as osp
from collections.abc import Mapping

from mmengine.config import Config, DictAction

from .config_checks import check_batch_sizes, check_config_keys
from .data_root import point_at_data_root, refuse_unread_overrides


def add_common_arguments(parser: argparse.ArgumentParser, example_option: str) -> None:
    """Add the options ``tools/train.py`` and ``tools/test.py`` share (after their own).

    Args:
        parser: The tool's parser.
        example_option: A ``--cfg-options`` example for the help text.
    """
    parser.add_argument('--work-dir', help='where to save logs, checkpoints and metrics '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--data-root', metavar='DIR',
                        help='read every dataset and the body model (DIR/body.json) from DIR')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help=f'override config settings, e.g. {example_option}')
    parser.add_argument('--verbose', action='store_true',
                        help='also print the environment, config and hook order (always in '
                        'the log file)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_tool_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line; make ``LOCAL_RANK`` what the launcher passed."""
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def apply_common_options(cfg: Config, config_path: str, cfg_options: Mapping | None,
                         launcher: str, work_dir: str | None, verbose: bool = False,
                         data_root: str | None = None) -> Config:
    """Apply the options ``tools/train.py`` and ``tools/test.py`` share, typos refused.

    ``--cfg-options`` are checked (a misspelt key, or a helper name such as ``data_root``
    that nothing reads after parsing, is an error) and merged, ``--data-root`` applied to
    every dataset and body-model path, the launcher recorded, and the work dir set
    (default ``work_dirs/<config name>``, as in mmpose/mmdet). ``verbose`` sets
    ``log_level='DEBUG'``, which also prints the environment, config and hook order that
    the console otherwise leaves to the log file.
    """
    check_config_keys(cfg, cfg_options or ())
    refuse_unread_overrides(cfg, cfg_options or ())
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_batch_sizes(cfg)
    if data_root:
        point_at_data_root(cfg, data_root)
    cfg.launcher = launcher
    if verbose:
        cfg.log_level = 'DEBUG'
    if work_dir:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    return cfg
