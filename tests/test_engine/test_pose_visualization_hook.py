"""PoseVisualizationHook: unit behaviour on a stub runner, then a real tiny training + test.py."""
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sparkpose.registry import HOOKS, MODELS, RUNNERS
from sparkpose.structures import PoseDataSample, SparseInputs
from sparkpose.visualization import GT_COLOR, ON_COLOR, PRED_COLOR

REPO = Path(__file__).parents[2]
CONFIG = REPO / 'configs' / 'voxelcnn' / 'rot6d_voxelcnn_1xb32-30e_synthetic-128x128.py'
# The SPADES camera scaled to a 64×36 input.
K_INPUT = np.diag([0.05, 0.05, 1.0]) @ np.array([[1258.6, 0, 640], [0, 1258.6, 360], [0, 0, 1]])


def _has(image: np.ndarray, colour) -> bool:
    return bool(np.all(image == colour, axis=-1).any())


class RecordingVisualizer:
    def __init__(self):
        self.images = []

    def add_image(self, name, image, step=0):
        self.images.append((name, image.shape, step))


class RecordingLogger:
    def __init__(self):
        self.messages = []

    def info(self, message):
        self.messages.append(message)


def _stub_runner(tmp_path: Path, epoch: int = 3) -> SimpleNamespace:
    model = SimpleNamespace(data_preprocessor=MODELS.build(dict(type='PoseDataPreprocessor')))
    return SimpleNamespace(log_dir=str(tmp_path), epoch=epoch, model=model,
                           visualizer=RecordingVisualizer(), logger=RecordingLogger())


def _batch(num: int, form: str = 'list') -> tuple[dict, list[PoseDataSample]]:
    """``num`` 4×36×64 inputs with ON events in a block around the image centre.

    ``form``: what a collate makes of them: ``'list'`` (pseudo_collate), ``'sparse'``
    (pseudo_collate of sparse samples), ``'tensor'`` or ``'sparse_batch'`` (pose_collate).
    """
    grids = torch.zeros(num, 4, 36, 64)
    grids[:, 0, 14:22, 26:38] = 1.0
    samples = []
    for i in range(num):
        sample = PoseDataSample(metainfo=dict(seq_id='RT010', label_index=i, cam_K=K_INPUT))
        sample.gt_t, sample.gt_q = torch.tensor([0.0, 0.0, 8.0]), torch.tensor([0., 0., 0., 1.])
        sample.pred_t = torch.tensor([0.5, 0.0, 8.0])
        sample.pred_q = torch.tensor([0.0, 0.0, 0.2, 0.98])
        samples.append(sample)
    inputs = {'list': list(grids), 'tensor': grids,
              'sparse': [SparseInputs.from_dense(g) for g in grids],
              'sparse_batch': SparseInputs.from_dense(grids)}[form]
    return dict(inputs=inputs, data_samples=samples), samples


def _pngs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob('*.png'))


def test_validation_every_interval_with_a_cap_across_batches(tmp_path):
    hook = HOOKS.build(dict(type='PoseVisualizationHook', interval=2, max_samples=3,
                            min_size=256))
    runner = _stub_runner(tmp_path)
    for run in (1, 2):
        hook.before_val_epoch(runner)
        for batch_idx in range(3):  # 3 batches of 2: only the first 3 samples are drawn
            data_batch, outputs = _batch(2, 'sparse' if batch_idx == 1 else 'list')
            for i, sample in enumerate(outputs):
                sample.set_metainfo(dict(label_index=2 * batch_idx + i))
            hook.after_val_iter(runner, batch_idx, data_batch, outputs)
        hook.after_val_epoch(runner)
        if run == 1:  # interval=2: the first validation draws nothing
            assert not (tmp_path / 'vis').exists() and not runner.visualizer.images
            assert not runner.logger.messages
    # The folder and the TensorBoard command are said once.
    assert len(runner.logger.messages) == 1
    assert str(tmp_path / 'vis') in runner.logger.messages[0]
    assert f'tensorboard --logdir {tmp_path / "vis_data"}' in runner.logger.messages[0]
    folder = tmp_path / 'vis' / 'epoch_3'
    assert _pngs(folder) == ['RT010_000.png', 'RT010_001.png', 'RT010_002.png']
    assert runner.visualizer.images == [(f'val_RT010_00{i}', (144, 256, 3), 3) for i in range(3)]
    # The third sample came in sparse: densified, it looks like the dense ones.
    pictures = [np.asarray(Image.open(folder / name)) for name in _pngs(folder)]
    assert pictures[0].shape == (144, 256, 3)  # 64×36 upscaled ×4 to reach min_size=256
    np.testing.assert_array_equal(pictures[1][40:], pictures[2][40:])  # same but the caption
    for picture in pictures:
        assert _has(picture, GT_COLOR) and _has(picture, PRED_COLOR) and _has(picture, ON_COLOR)


def test_test_mode_draws_only_with_test_out_dir(tmp_path):
    runner = _stub_runner(tmp_path)
    silent = HOOKS.build(dict(type='PoseVisualizationHook'))
    silent.before_test_epoch(runner)
    silent.after_test_iter(runner, 0, *_batch(2))
    assert not list(tmp_path.rglob('*.png'))

    hook = HOOKS.build(dict(type='PoseVisualizationHook', test_out_dir='show',
                            max_test_samples=3, draw_gt=False))
    hook.before_test_epoch(runner)
    for batch_idx in range(2):
        data_batch, outputs = _batch(2)
        for i, sample in enumerate(outputs):
            sample.set_metainfo(dict(label_index=2 * batch_idx + i))
        hook.after_test_iter(runner, batch_idx, data_batch, outputs)
    assert _pngs(tmp_path / 'show') == ['RT010_000.png', 'RT010_001.png', 'RT010_002.png']
    hook.after_test_epoch(runner)
    assert runner.logger.messages[-1].endswith(f'drew 3 test windows into {tmp_path / "show"}')
    picture = np.asarray(Image.open(tmp_path / 'show' / 'RT010_000.png'))
    assert _has(picture, PRED_COLOR) and not _has(picture, GT_COLOR)
    assert not runner.visualizer.images  # test pictures go to files only


def test_every_collated_input_form_gives_the_same_picture(tmp_path):
    pictures = []
    for form in ('list', 'tensor', 'sparse', 'sparse_batch'):
        runner = _stub_runner(tmp_path / form)
        hook = HOOKS.build(dict(type='PoseVisualizationHook', test_out_dir='show',
                                max_test_samples=1))
        hook.before_test_epoch(runner)
        hook.after_test_iter(runner, 0, *_batch(2, form))
        assert _pngs(tmp_path / form / 'show') == ['RT010_000.png']
        pictures.append(np.asarray(Image.open(tmp_path / form / 'show' / 'RT010_000.png')))
    for picture in pictures[1:]:
        np.testing.assert_array_equal(picture, pictures[0])


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match='interval=0'):
        HOOKS.build(dict(type='PoseVisualizationHook', interval=0))


def test_show_dir_enables_the_hook(load_tool):
    tool = load_tool('test.py')
    cfg = Config(dict(custom_hooks=[dict(type='PoseVisualizationHook', max_samples=2)]))
    tool.add_show_hook(cfg, 'pics')
    assert [dict(h) for h in cfg.custom_hooks] == [
        dict(type='PoseVisualizationHook', max_samples=2, test_out_dir='pics')]
    cfg = Config(dict())
    tool.add_show_hook(cfg, '/abs/pics')
    assert [dict(h) for h in cfg.custom_hooks] == [
        dict(type='PoseVisualizationHook', test_out_dir='/abs/pics')]


def _tiny_demo_config(data_root: Path, work_dir: Path) -> Config:
    cfg = Config.fromfile(str(CONFIG))
    cfg.work_dir = str(work_dir)
    # mmengine keeps one Visualizer per name: a fixed name would reuse an earlier runner's.
    cfg.visualizer.name = f'vis-{uuid.uuid4().hex[:8]}'
    for split, batch_size, count in (('train', 2, 2), ('val', 1, 3), ('test', 4, None)):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
        loader.dataset.data_root = str(data_root)
        if count:
            loader.dataset.indices = count
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.custom_hooks = [dict(type='PoseVisualizationHook', max_samples=2)]
    return cfg


@pytest.mark.slow
def test_training_writes_pictures_and_tensorboard_images_then_show_dir(synthetic_root,
                                                                       tmp_path):
    work_dir = tmp_path / 'work'
    runner = RUNNERS.build(_tiny_demo_config(synthetic_root, work_dir))
    runner.train()

    val_seq = (synthetic_root / 'val.txt').read_text().split()[0]
    names = [f'{val_seq}_000.png', f'{val_seq}_001.png']  # 3 val samples, max_samples=2
    folder = Path(runner.log_dir) / 'vis' / 'epoch_1'
    assert _pngs(folder) == names
    picture = np.asarray(Image.open(folder / names[0]))
    assert picture.shape == (512, 512, 3)  # 128×128 input, ×4
    assert _has(picture, GT_COLOR) and _has(picture, PRED_COLOR)

    (events_file,) = Path(runner.log_dir).glob('vis_data/events.out.tfevents*')
    accumulator = EventAccumulator(str(events_file), size_guidance={'images': 0})
    accumulator.Reload()
    assert sorted(accumulator.Tags()['images']) == [f'val_{n[:-4]}' for n in names]
    (image_event,) = accumulator.Images(f'val_{val_seq}_000')
    assert (image_event.step, image_event.width, image_event.height) == (1, 512, 512)

    # tools/test.py --show-dir draws every test sample (one sequence of 8 labels).
    test_seq = (synthetic_root / 'test.txt').read_text().split()[0]
    options = [f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
               for key in (f'dataset.data_root={synthetic_root}', 'num_workers=0',
                           'persistent_workers=False')]
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'test.py'), str(CONFIG),
         str(work_dir / 'epoch_1.pth'), '--work-dir', str(tmp_path / 'test'),
         '--show-dir', str(tmp_path / 'show'), '--cfg-options', *options],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _pngs(tmp_path / 'show') == [f'{test_seq}_{i:03d}.png' for i in range(8)]
    picture = np.asarray(Image.open(tmp_path / 'show' / f'{test_seq}_000.png'))
    assert _has(picture, GT_COLOR) and _has(picture, PRED_COLOR)
