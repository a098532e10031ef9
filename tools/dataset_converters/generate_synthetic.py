"""Generate a synthetic event-camera pose data set in the SPADES HDF5 layout.

Examples::

    # the demo set (what `make demo` uses): a full-sensor part (320 x 0.5 s at 1280x720,
    # tumbling at 2.5-10 deg/s) in a sub-folder, then 2400 x 1 s at 320x180, tumbling at
    # 30-120 deg/s, whose split files also list the sub-folder's sequences
    python tools/dataset_converters/generate_synthetic.py --out data/demo/full_sensor \\
        --preset demo-full-sensor --seed 1 --workers 2
    python tools/dataset_converters/generate_synthetic.py --out data/demo --preset demo \\
        --seed 0 --workers 2 --include full_sensor
    # a SPADES-size set: 300 x 60 s at 1280x720 (any flag overrides the preset's value)
    python tools/dataset_converters/generate_synthetic.py --out data/synthetic_spades \\
        --preset spades --workers 16
    # every output folder also gets camera.json and body.json (the rendered body model)
    # test-like files without poses, 1 µs ticks: RT901.h5, RT902.h5
    python tools/dataset_converters/generate_synthetic.py --out data/demo_test \\
        --num-sequences 2 --first-index 901 --no-poses --time-unit us

Sequence ``RT{i}`` depends only on ``--seed``, ``i`` and the simulation options, never on
``--workers`` or on which other sequences are generated.
"""
import argparse
import json
import multiprocessing
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sparkpose.datasets.spades_format import read_split
from sparkpose.simulation import (
    TICKS_PER_SECOND,
    SequenceOptions,
    camera_for_resolution,
    sequence_name,
    write_camera_json,
    write_sequence,
    write_split_files,
)
from sparkpose.structures import BODY_FILE

SPLITS = ('train', 'val', 'test')
# Written last, with the split files: the options and split lists a set was made with.
MANIFEST_FILE = 'generator.json'
# Named data sets: the options each fixes; a flag given on the command line still wins.
# --out, --seed and --workers are never part of a preset.
PRESETS = {
    # Many short, fast-tumbling trajectories at a small sensor: the most distinct
    # attitudes per CPU-second (24,000 labelled windows).
    'demo': dict(num_sequences=2400, duration=1.0, resolution=(320, 180),
                 min_tumble_rate=30.0, max_tumble_rate=120.0, split=[0.8, 0.1, 0.1]),
    # The demo's second part (its sub-folder full_sensor/): SPADES' sensor and tumble rates
    # in short trajectories, so the demo model also meets the full sensor's event density
    # and slow motion (1,600 labelled windows).
    'demo-full-sensor': dict(num_sequences=320, duration=0.5, resolution=(1280, 720),
                             min_tumble_rate=2.5, max_tumble_rate=10.0,
                             split=[0.8, 0.1, 0.1]),
    # SPADES' synthetic part in size: 300 trajectories of 60 s (180,000 labels) on the
    # full sensor, slow tumbling (the generator's default 2.5-10 deg/s), split 240/30/30.
    'spades': dict(num_sequences=300, duration=60.0, resolution=(1280, 720),
                   min_tumble_rate=None, max_tumble_rate=10.0, split=[0.8, 0.1, 0.1]),
}


def parse_resolution(text: str) -> tuple[int, int]:
    """Parse ``'WxH'`` (e.g. ``'1280x720'``) into ``(W, H)``."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--resolution {text!r}: expected WxH, e.g. 1280x720') from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f'--resolution {text!r}: sizes must be positive')
    return width, height


def split_counts(num: int, fractions: list[float]) -> list[int]:
    """Share ``num`` sequences among splits by ``fractions`` (largest remainders first).

    Every split with a positive fraction gets at least one sequence when there are enough.
    """
    fractions = np.asarray(fractions, np.float64)
    if np.any(fractions < 0) or fractions.sum() <= 0:
        raise ValueError(f'--split {fractions.tolist()}: fractions must be >= 0, not all 0')
    share = fractions / fractions.sum() * num
    counts = np.floor(share).astype(int)
    counts[np.argsort(counts - share, kind='stable')[:num - counts.sum()]] += 1
    if num >= np.count_nonzero(fractions):
        for i in np.flatnonzero((fractions > 0) & (counts == 0)):
            counts[np.argmax(counts)] -= 1
            counts[i] += 1
    return counts.tolist()


def included_splits(out: Path, folder: str, split_names: list[str]) -> dict[str, list[str]]:
    """The split lists of the set in ``out / folder``, names prefixed with ``folder/``."""
    if Path(folder).is_absolute() or '..' in Path(folder).parts:
        raise SystemExit(f'--include {folder}: expected a sub-folder of --out {out}')
    missing = [s for s in split_names if not (out / folder / f'{s}.txt').is_file()]
    if missing:
        raise SystemExit(f'--include {folder}: {out / folder} has no {missing[0]}.txt; '
                         f'generate that set first (its split files are written last)')
    return {split: [f'{Path(folder).as_posix()}/{name}'
                    for name in read_split(str(out / folder), str(out / folder / f'{split}.txt'),
                                           allow_empty=True)]
            for split in split_names}


def make_manifest(args: argparse.Namespace, splits: dict[str, list[str]]) -> dict:
    """What makes a set: every option but where it goes and how fast, and its split lists."""
    options = {k: v for k, v in vars(args).items() if k not in ('out', 'workers', 'if_changed')}
    # Through JSON and back: tuples become lists, as in a manifest read from disk.
    return json.loads(json.dumps(dict(options=options, splits=splits), default=str))


def read_manifest(out: Path) -> dict | None:
    """The manifest of the set in ``out``; ``None`` if it has none or an unreadable one."""
    try:
        return json.loads((out / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None


def build_parser() -> argparse.ArgumentParser:
    defaults = SequenceOptions()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, type=Path, help='output directory')
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        help='defaults of a named set (demo: 2400 x 1 s at 320x180, tumbling '
                             '30-120 deg/s; demo-full-sensor: 320 x 0.5 s at 1280x720, '
                             '2.5-10 deg/s; spades: 300 x 60 s at 1280x720); explicit flags '
                             'override them')
    parser.add_argument('--num-sequences', type=int, default=10)
    parser.add_argument('--duration', type=float, default=defaults.duration,
                        help='seconds per sequence (labels at 10 Hz)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--first-index', type=int, default=0,
                        help='number of the first sequence (901 gives RT901.h5, ...)')
    parser.add_argument('--resolution', type=parse_resolution, default=defaults.resolution,
                        help='sensor WxH; the SPADES K is scaled to it (camera.json)')
    parser.add_argument('--time-unit', choices=sorted(TICKS_PER_SECOND),
                        default=defaults.time_unit,
                        help='timestamp ticks: 100us (synthetic SPADES) or us (test files)')
    parser.add_argument('--no-poses', action='store_true',
                        help='labels with timestamps only (like test files); all in test.txt')
    parser.add_argument('--min-distance', type=float, default=defaults.min_distance,
                        help='nearest Tz (m); raised to where the body fits in the image')
    parser.add_argument('--max-distance', type=float, default=defaults.max_distance,
                        help='farthest Tz (m)')
    parser.add_argument('--max-tumble-rate', type=float, default=defaults.max_tumble_rate,
                        help='largest tumble rate (deg/s)')
    parser.add_argument('--min-tumble-rate', type=float, default=None,
                        help='smallest tumble rate (deg/s); default a quarter of the largest. '
                             'Many short, fast-tumbling trajectories give the most distinct '
                             'attitudes per CPU-second')
    parser.add_argument('--contrast-threshold', type=float, nargs=2,
                        default=defaults.contrast_threshold, metavar=('LOW', 'HIGH'),
                        help="range of each sequence's mean contrast threshold (log "
                             'intensity); lower thresholds give more events')
    parser.add_argument('--threshold-sigma', type=float, default=defaults.threshold_sigma,
                        help='pixel-to-pixel spread of the contrast thresholds')
    parser.add_argument('--leak-rate', type=float, default=defaults.leak_rate,
                        help='leak noise events (Hz per pixel)')
    parser.add_argument('--shot-noise-rate', type=float, default=defaults.shot_noise_rate,
                        help='shot noise events (Hz per pixel)')
    parser.add_argument('--split', type=float, nargs=3, default=[0.8, 0.1, 0.1],
                        metavar=('TRAIN', 'VAL', 'TEST'),
                        help='fractions of sequences per split, in sequence order')
    parser.add_argument('--include', nargs='+', default=[], metavar='SUBFOLDER',
                        help='sets already generated in these sub-folders of --out: their '
                             'split files are added to this set\'s (as SUBFOLDER/RT000, seen '
                             'through the sub-folder\'s camera.json), so one set holds data '
                             'of several sensors')
    parser.add_argument('--workers', type=int, default=1, help='parallel processes')
    parser.add_argument('--if-changed', action='store_true',
                        help=f'do nothing when --out already holds a complete set made with '
                             f'these options (its {MANIFEST_FILE} says so); a set made with '
                             f'other options (another preset size, seed, split) is made again')
    parser.add_argument('--compression', choices=('none', 'lzf', 'gzip'), default='none',
                        help='event-dataset filter: none reads fastest in training; gzip '
                             'is ~5x smaller but costs ~3 ms per 100 ms window to decode')
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse ``argv``: a ``--preset`` supplies defaults that explicit flags override."""
    parser = build_parser()
    preset = parser.parse_known_args(argv)[0].preset
    if preset is not None:
        parser.set_defaults(**PRESETS[preset])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[Path]:
    """Run the generator with command-line arguments ``argv``.

    Returns:
        The written ``.h5`` paths, in sequence order.
    """
    args = parse_args(argv)
    if args.num_sequences < 1:
        raise SystemExit(f'--num-sequences {args.num_sequences}: expected at least 1')
    options = SequenceOptions(
        duration=args.duration, resolution=args.resolution, time_unit=args.time_unit,
        with_poses=not args.no_poses, min_distance=args.min_distance,
        max_distance=args.max_distance, max_tumble_rate=args.max_tumble_rate,
        min_tumble_rate=args.min_tumble_rate,
        contrast_threshold=tuple(args.contrast_threshold),
        threshold_sigma=args.threshold_sigma, leak_rate=args.leak_rate,
        shot_noise_rate=args.shot_noise_rate)
    indices = list(range(args.first_index, args.first_index + args.num_sequences))
    names = [sequence_name(i) for i in indices]
    if args.no_poses:
        splits = {'test': names}
    else:
        bounds = np.cumsum([0] + split_counts(len(names), args.split))
        splits = {s: names[a:b] for s, a, b in zip(SPLITS, bounds[:-1], bounds[1:])}

    for folder in args.include:
        for split, listed in included_splits(args.out, folder, list(splits)).items():
            splits[split] = splits[split] + listed
    manifest = make_manifest(args, splits)
    if args.if_changed and read_manifest(args.out) == manifest:
        print(f'{args.out}: up to date ({MANIFEST_FILE} lists these options); nothing written')
        return []
    (args.out / MANIFEST_FILE).unlink(missing_ok=True)  # an interrupted run is no set
    args.out.mkdir(parents=True, exist_ok=True)
    write_camera_json(args.out, camera_for_resolution(args.resolution))
    options.body.save(args.out / BODY_FILE)
    compression = None if args.compression == 'none' else args.compression
    job = partial(write_sequence, args.out, args.seed, options=options,
                  compression=compression)
    progress = dict(total=len(indices), desc='sequences', unit='seq')
    if args.workers > 1:
        # 'spawn': workers must not inherit thread pools (torch, BLAS) from the parent.
        with multiprocessing.get_context('spawn').Pool(args.workers) as pool:
            paths = list(tqdm(pool.imap(job, indices), **progress))
    else:
        paths = [job(i) for i in tqdm(indices, **progress)]
    write_split_files(args.out, splits)
    (args.out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + '\n')
    print(f'wrote {len(paths)} sequences to {args.out} '
          f'({", ".join(f"{s}: {len(n)}" for s, n in splits.items())})')
    return paths


if __name__ == '__main__':
    main()
