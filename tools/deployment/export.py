"""Export a trained pose estimator as a ``torch.export`` program: voxel grid in, pose out.

    python tools/deployment/export.py CONFIG CHECKPOINT --out model.pt2 [--input-shape C H W]

For a head whose ``decode`` is torch operators only (the regression heads), the program
maps a float32 ``(B, C, H, W)`` voxel batch (B dynamic) to ``t`` ``(B, 3)`` metres and ``q``
``(B, 4)`` scalar-last unit quaternions with ``w >= 0``, decoded exactly as
``PoseEstimator.predict`` does. It holds only aten operators, so running it needs torch and
nothing of sparkpose or mmengine::

    program = torch.export.load('model.pt2')
    t, q = program.module()(voxels)

For a head that decodes outside torch (``head.traceable_decode = False``: the keypoint
head's PnP), the program is the network part, voxels → the head's raw outputs (a dict,
e.g. ``heatmaps``), and the poses come from a separate step with each window's input
intrinsics, as ``PoseEstimator.predict`` computes them::

    outputs = program.module()(voxels)
    t, q = model.head.decode(outputs, cam_K=cam_K, input_size=input_size)

The file also carries ``sparkpose/config.py`` (the training config: it says how the voxel
grid must be built) and ``sparkpose/meta.json`` (input shape, outputs), readable with
``torch.export.load(path, extra_files={'sparkpose/meta.json': ''})``.

TorchScript is not offered: ``torch.jit`` is deprecated in the PyTorch we use and traces
this model with warnings. ONNX would need a new dependency.
"""
import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from mmengine.config import Config
from torch import nn

from sparkpose.apis import init_model

META_FILE = 'sparkpose/meta.json'
CONFIG_FILE = 'sparkpose/config.py'


class DeployablePoseModel(nn.Module):
    """Wraps an estimator so that ``forward`` is the graph to export: ``predict_pose`` when
    the head's decode is traceable, else the network part (``mode='tensor'``).

    Args:
        estimator: A ``PoseEstimator`` in eval mode.
    """

    def __init__(self, estimator: nn.Module) -> None:
        super().__init__()
        self.estimator = estimator
        self.network_only = not estimator.head.traceable_decode

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | dict:
        """``(B, C, H, W)`` voxels → ``t`` ``(B, 3)`` (m), ``q`` ``(B, 4)`` (x, y, z, w), or
        the head's raw outputs for a network-only export."""
        if self.network_only:
            return self.estimator(inputs, mode='tensor')
        return self.estimator.predict_pose(inputs)


def default_input_shape(cfg: Config) -> tuple[int, int, int]:
    """``(C, H, W)`` from the config: backbone ``in_channels`` and the test ``input_size``.

    Raises:
        ValueError: When either is missing (give ``--input-shape`` then).
    """
    channels = cfg.model.get('backbone', {}).get('in_channels')
    pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline', [])
    sizes = [step['input_size'] for step in pipeline if step.get('input_size') is not None]
    if channels is None or not sizes:
        raise ValueError(f'{cfg.filename}: cannot infer the input shape (need '
                         f'model.backbone.in_channels and an input_size in '
                         f'test_dataloader.dataset.pipeline); pass --input-shape C H W')
    width, height = sizes[0]
    return int(channels), int(height), int(width)


def export(model: nn.Module, input_shape: Sequence[int]) -> torch.export.ExportedProgram:
    """Export ``model.predict_pose`` (or the network part, see :class:`DeployablePoseModel`)
    with a dynamic batch dimension.

    Args:
        model: The estimator, eval mode, on CPU.
        input_shape: ``(C, H, W)`` of one voxel grid.

    Returns:
        The exported program (inputs ``(B, C, H, W)``, ``B >= 1``).
    """
    example = torch.zeros(2, *input_shape)
    batch = torch.export.Dim('batch', min=1)
    with torch.no_grad():
        return torch.export.export(DeployablePoseModel(model).eval(), (example,),
                                   dynamic_shapes=({0: batch},))


def max_output_difference(program: torch.export.ExportedProgram, model: nn.Module,
                          inputs: torch.Tensor) -> dict[str, float]:
    """Max absolute difference of each output between the program and the eager model."""
    with torch.no_grad():
        expected = DeployablePoseModel(model)(inputs)
        result = program.module()(inputs)
    if isinstance(expected, dict):
        return {name: float((result[name] - value).abs().max())
                for name, value in expected.items()}
    return {name: float((a - b).abs().max())
            for name, a, b in zip(('t', 'q'), result, expected, strict=True)}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='training config file')
    parser.add_argument('checkpoint', help='checkpoint (.pth) with the weights')
    parser.add_argument('--out', required=True, help='output file, e.g. model.pt2')
    parser.add_argument('--input-shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                        help='shape of one voxel grid; default: from the config')
    parser.add_argument('--check-batch', type=int, default=3,
                        help='batch size of the random exported-vs-PyTorch check')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='fail when the exported outputs differ more than this')
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    input_shape = tuple(args.input_shape or default_input_shape(cfg))
    model = init_model(cfg, args.checkpoint)
    program = export(model, input_shape)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    outputs = dict(t='(B, 3) metres, camera frame',
                   q='(B, 4) unit quaternion (x, y, z, w), w >= 0, body to camera')
    if not model.head.traceable_decode:
        outputs = dict(network_only=f"the raw outputs of {type(model.head).__name__}; poses: "
                                    f'model.head.decode(outputs, cam_K=(B, 3, 3), '
                                    f'input_size=(B, 2)) in sparkpose')
    meta = dict(input_shape=['B', *input_shape], input_dtype='float32', outputs=outputs)
    torch.export.save(program, out, extra_files={CONFIG_FILE: cfg.pretty_text,
                                                 META_FILE: json.dumps(meta)})

    inputs = torch.rand(args.check_batch, *input_shape, generator=torch.Generator().manual_seed(0))
    diffs = max_output_difference(torch.export.load(out), model, inputs)
    listed = ', '.join(f'{name} {value:.3g}' for name, value in diffs.items())
    part = ' (network part; decode separately)' if not model.head.traceable_decode else ''
    print(f'exported {out}{part} (input (B, {", ".join(map(str, input_shape))}), B dynamic); '
          f'max |exported - pytorch| on a random batch of {args.check_batch}: {listed}')
    if max(diffs.values()) > args.atol:
        raise SystemExit(f'{out}: exported outputs differ from PyTorch by more than '
                         f'--atol {args.atol} ({listed})')


if __name__ == '__main__':
    main()
