"""Per-axis mean/std of the label translations of a split, for ``TranslationNormalizer``.

Reads only ``/labels/data`` of each file (validated; events are not scanned), so it takes
seconds even on the full set. Example::

    python tools/analysis_tools/translation_stats.py --data-root data/spades --split train.txt
"""
import argparse
import os.path as osp

import numpy as np

from sparkpose.datasets import read_labels, read_split


def translation_stats(data_root: str, split: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean and population std (m) of ``(Tx, Ty, Tz)`` over every label of a split.

    Args:
        data_root: Folder of ``<name>.h5`` files and split lists.
        split: Split list file, relative to ``data_root``.

    Returns:
        ``(3,)`` mean, ``(3,)`` std (metres) and the number of labels.
    """
    translations = []
    for name in read_split(data_root, osp.join(data_root, split)):
        path = osp.join(data_root, f'{name}.h5')
        labels = read_labels(path)
        if 'Tx' not in labels.dtype.names:
            raise ValueError(f'{path}: /labels/data has no poses (a test file?); translation '
                             f'statistics need a split of training files')
        translations.append(np.stack([labels[k] for k in ('Tx', 'Ty', 'Tz')], axis=1))
    translations = np.concatenate(translations)
    return translations.mean(axis=0), translations.std(axis=0), len(translations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', required=True, help='folder of the .h5 files')
    parser.add_argument('--split', default='train.txt', help='split list, relative to root')
    args = parser.parse_args()
    mean, std, count = translation_stats(args.data_root, args.split)
    print(f'{count} labels of {args.split} in {args.data_root}')
    for axis, m, s in zip('xyz', mean, std):
        print(f'  T{axis}: mean {m:+.4f} m  std {s:.4f} m')
    print('codec config:')
    print(f"  dict(type='TranslationNormalizer', mean=({', '.join(f'{m:.4f}' for m in mean)}), "
          f"std=({', '.join(f'{s:.4f}' for s in std)}))")


if __name__ == '__main__':
    main()
