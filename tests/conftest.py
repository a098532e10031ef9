"""Shared fixtures: tiny SPADES-layout files and data roots written with the project's writer."""
import importlib.util
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

import h5py
import numpy as np
import pytest
import torch

from sparkpose.simulation.spades_writer import (
    make_labels,
    write_camera_json,
    write_spades_file,
    write_split_files,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``cuda`` where no CUDA device exists (they run where one does)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA device (torch.cuda.is_available() is False)')
    for item in items:
        if item.get_closest_marker('cuda') is not None:
            item.add_marker(skip)


TICKS_PER_LABEL = {'100us': 1000, 'us': 100_000}  # 10 Hz labels in each tick unit


def random_quaternions(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, 4)`` uniformly random unit quaternions, scalar-last, ``w >= 0``."""
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return np.where(q[:, 3:] < 0, -q, q)


def random_events(rng: np.random.Generator, num_events: int, t_max: int,
                  sensor_size: tuple[int, int] = (1280, 720)) -> dict[str, np.ndarray]:
    """Uniform events with integer ticks in ``[0, t_max]``, sorted by time.

    A tenth of them sit exactly on multiples of ``t_max // 10`` so that window boundaries
    (half-open ``(start, end]``) are exercised.
    """
    ts = rng.integers(0, t_max + 1, num_events)
    on_grid = rng.random(num_events) < 0.1
    ts[on_grid] = (ts[on_grid] // max(t_max // 10, 1)) * max(t_max // 10, 1)
    width, height = sensor_size
    return dict(xs=rng.integers(0, width, num_events), ys=rng.integers(0, height, num_events),
                ts=np.sort(ts), ps=rng.integers(0, 2, num_events))


@pytest.fixture(autouse=True, scope='session')
def isolated_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point ``$SPARKPOSE_CACHE_DIR`` at a temporary folder: tests never write the user's cache."""
    cache = tmp_path_factory.mktemp('sparkpose_cache')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('SPARKPOSE_CACHE_DIR', str(cache))
        yield cache


@pytest.fixture
def spades_file_factory(tmp_path: Path) -> Callable[..., Path]:
    """Return ``write(name='RT000', ...)`` that writes one small SPADES file and its path.

    Keyword arguments of ``write``: ``num_labels`` (10 Hz labels, the first at one label
    period), ``time_unit`` ('100us' or 'us', sets the tick spacing), ``events_per_label``,
    ``with_pose``, ``sensor_size``, ``seed``, ``directory`` (default ``tmp_path``),
    ``events`` / ``labels`` (replace the generated ones), ``attrs`` (root attributes).
    """

    def write(name: str = 'RT000', num_labels: int = 12, time_unit: str = '100us',
              events_per_label: int = 300, with_pose: bool = True,
              sensor_size: tuple[int, int] = (1280, 720), seed: int = 0,
              directory: Path | None = None, events: dict | None = None,
              labels: np.ndarray | None = None, attrs: dict | None = None) -> Path:
        rng = np.random.default_rng(seed)
        period = TICKS_PER_LABEL[time_unit]
        stamps = period * np.arange(1, num_labels + 1)
        if events is None:
            events = random_events(rng, events_per_label * num_labels, int(stamps[-1]),
                                   sensor_size)
        if labels is None:
            translations = quaternions = None
            if with_pose:
                translations = np.c_[rng.uniform(-1, 1, (num_labels, 2)),
                                     rng.uniform(3, 12, num_labels)]
                quaternions = random_quaternions(rng, num_labels)
            labels = make_labels(name, stamps, translations, quaternions)
        path = Path(directory or tmp_path) / f'{name}.h5'
        write_spades_file(path, events, labels)
        if attrs:
            with h5py.File(path, 'a') as f:
                f.attrs.update(attrs)
        return path

    return write


@pytest.fixture
def spades_root_factory(tmp_path: Path,
                        spades_file_factory: Callable[..., Path]) -> Callable[..., Path]:
    """Return ``make(names, splits=None, camera=True, **file_kwargs)`` → a data root.

    Writes ``<name>.h5`` for each name (seeds 0, 1, ...), ``camera.json`` (the SPADES
    camera) unless ``camera=False``, and ``<split>.txt`` files (default: all names in
    ``train.txt``).
    """

    def make(names: Sequence[str] = ('RT000', 'RT001', 'RT002'),
             splits: dict[str, Sequence[str]] | None = None, camera: bool = True,
             root: Path | None = None, **file_kwargs) -> Path:
        root = Path(root or tmp_path / 'spades')
        for seed, name in enumerate(names):
            spades_file_factory(name, seed=seed, directory=root, **file_kwargs)
        if camera:
            write_camera_json(root)
        write_split_files(root, splits or {'train': list(names)})
        return root

    return make


REPO_ROOT = Path(__file__).parents[1]


@pytest.fixture(scope='session')
def load_tool() -> Callable[[str], ModuleType]:
    """Import a command-line script under ``tools/`` as a module (they are not a package)."""
    def load(relative_path: str) -> ModuleType:
        path = REPO_ROOT / 'tools' / relative_path
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory: pytest.TempPathFactory,
                   load_tool: Callable[[str], ModuleType]) -> Path:
    """A small generated data set at 1280×720: 5 trajectories of 0.8 s, split 3/1/1."""
    root = tmp_path_factory.mktemp('synthetic')
    load_tool('dataset_converters/generate_synthetic.py').main(
        ['--out', str(root), '--num-sequences', '5', '--duration', '0.8', '--seed', '3',
         '--split', '0.6', '0.2', '0.2'])
    return root
