"""Draw one event window with its labelled pose: ON red, OFF blue, body outline and axes.

The outline is the body model of the data: the ``body.json`` beside the file (the
generator writes it there), the generator's default body only if there is none.

Example::

    python tools/analysis_tools/visualize_events.py data/demo/RT000.h5 --index 10 \\
        --out work_dirs/demo/RT000_010.png
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from sparkpose.datasets import SPADESDataset
from sparkpose.structures import quaternion_to_matrix
from sparkpose.structures.body_model import BODY_FILE, BodyModel, load_body_model
from sparkpose.visualization import draw_pose, events_to_rgb


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('file', type=Path, help='SPADES trajectory file (RT*.h5)')
    parser.add_argument('--index', type=int, default=0, help='label index')
    parser.add_argument('--window-ms', type=float, default=100.0)
    parser.add_argument('--anchor', choices=('end', 'center', 'start'), default='end')
    parser.add_argument('--time-unit', choices=('auto', '100us', 'us'), default='auto')
    parser.add_argument('--camera', default='camera.json',
                        help='camera file, relative to the trajectory file\'s directory')
    parser.add_argument('--body', default=BODY_FILE,
                        help="body model, relative to the trajectory file's directory")
    parser.add_argument('--out', type=Path, required=True, help='output PNG')
    return parser.parse_args(argv)


def render_window(sample: dict, body: BodyModel | None = None) -> np.ndarray:
    """RGB image of one dataset sample's events, with its ground-truth pose if it has one."""
    events = sample['events']
    image = events_to_rgb(events['x'], events['y'], events['p'], sample['sensor_size'])
    if 'gt_q' in sample:
        import torch
        rotation = quaternion_to_matrix(torch.as_tensor(sample['gt_q'])).numpy()
        image = draw_pose(image, rotation, sample['gt_t'], sample['cam_K'], body=body,
                          width=2)
    return image


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    if not args.file.is_file():
        raise SystemExit(f'{args.file}: no such trajectory file')
    dataset = SPADESDataset(
        data_root=str(args.file.parent), sequences=[args.file.stem], window_ms=args.window_ms,
        anchor=args.anchor, time_unit=args.time_unit, camera_file=args.camera,
        index_cache_dir=None)
    if not 0 <= args.index < len(dataset):
        raise SystemExit(f'{args.file}: --index {args.index} outside the {len(dataset)} labels')
    sample = dataset[args.index]
    body_path = args.file.parent / args.body
    body = load_body_model(str(body_path)) if body_path.is_file() else None
    if body is None:
        print(f'{body_path} not found: drawing the generator\'s default body')
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(render_window(sample, body)).save(args.out)
    print(f'{args.out}: {sample["seq_id"]} label {args.index}, '
          f'{len(sample["events"]["x"])} events in the window')
    return args.out


if __name__ == '__main__':
    main()
