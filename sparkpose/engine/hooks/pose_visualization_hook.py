"""Draw the network's input with ground-truth and predicted poses during validation and test."""
import os
import os.path as osp
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from PIL import Image

from sparkpose.registry import HOOKS
from sparkpose.structures import PoseDataSample, load_body_model
from sparkpose.visualization import render_pose_sample, sample_id


@HOOKS.register_module()
class PoseVisualizationHook(Hook):
    """Render the first validation (or test) samples: event image, GT and predicted pose.

    Each picture is the input voxel grid (ON red, OFF blue) with the ground-truth wireframe
    in green and the prediction in orange, drawn with the sample's input-scaled ``cam_K``
    (see :func:`~sparkpose.visualization.render_pose_sample`).

    - Validation: every ``interval``-th validation run of this process, the first
      ``max_samples`` samples go to ``<log_dir>/<out_dir>/epoch_<e>/<seq>_<idx>.png`` and
      to the runner's visualizer (``add_image``, tag ``val_<seq>_<idx>``, step = epoch),
      i.e. TensorBoard with the default runtime. ``<log_dir>`` is
      ``<work_dir>/<timestamp>``; an absolute ``out_dir`` is used as is.
    - Test: only when ``test_out_dir`` is set (``tools/test.py --show-dir``), the first
      ``max_test_samples`` (all when ``None``) go to
      ``<log_dir>/<test_out_dir>/<seq>_<idx>.png``, not to the visualizer.

    Rendering needs the dense inputs: the raw batch is densified with the model's data
    preprocessor, only for the samples drawn.

    Args:
        interval: Draw on every ``interval``-th validation run (1: every one).
        max_samples: Validation samples drawn per run (the first ones of the loader).
        out_dir: Folder of the validation pictures, relative to the log dir.
        draw_gt: Also draw the ground-truth pose where the sample has one.
        min_size: The picture is upscaled by an integer factor until its longer side is at
            least this many pixels (128×128 inputs become 512×512).
        test_out_dir: Folder of the test pictures (relative to the log dir); ``None``
            draws nothing at test time.
        max_test_samples: Test samples drawn; ``None`` draws all.
        body_model: ``body.json`` whose boxes are drawn (the data's own body); ``None``
            draws the generator's Proba-2-like body.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 1, max_samples: int = 4, out_dir: str = 'vis',
                 draw_gt: bool = True, min_size: int = 512, test_out_dir: str | None = None,
                 max_test_samples: int | None = None, body_model: str | None = None
                 ) -> None:
        if interval < 1 or max_samples < 0 or (max_test_samples or 0) < 0:
            raise ValueError(f'PoseVisualizationHook: need interval >= 1 and non-negative '
                             f'sample counts, got interval={interval}, '
                             f'max_samples={max_samples}, max_test_samples={max_test_samples}')
        self.interval = interval
        self.max_samples = max_samples
        self.out_dir = out_dir
        self.draw_gt = draw_gt
        self.min_size = min_size
        self.test_out_dir = test_out_dir
        self.max_test_samples = max_test_samples
        self.body = load_body_model(body_model) if body_model is not None else None
        self._val_runs = 0
        self._drawn = 0

    def before_val_epoch(self, runner) -> None:
        """Count validation runs and start drawing from the first sample."""
        self._val_runs += 1
        self._drawn = 0

    def before_test_epoch(self, runner) -> None:
        """Start drawing from the first test sample."""
        self._drawn = 0

    def after_val_iter(self, runner, batch_idx: int, data_batch: dict | None = None,
                       outputs: Sequence[PoseDataSample] | None = None) -> None:
        """Draw this batch's samples while fewer than ``max_samples`` are drawn."""
        if self._val_runs % self.interval:
            return
        folder = osp.join(runner.log_dir, self.out_dir, f'epoch_{runner.epoch}')
        for name, image in self._render(runner, data_batch, outputs, self.max_samples):
            self._save(image, osp.join(folder, f'{name}.png'))
            runner.visualizer.add_image(f'val_{name}', image, step=runner.epoch)

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict | None = None,
                        outputs: Sequence[PoseDataSample] | None = None) -> None:
        """Draw this batch's samples into ``test_out_dir`` (when set)."""
        if self.test_out_dir is None:
            return
        folder = osp.join(runner.log_dir, self.test_out_dir)
        for name, image in self._render(runner, data_batch, outputs, self.max_test_samples):
            self._save(image, osp.join(folder, f'{name}.png'))

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        """Say once where the validation pictures go (the first run that drew some)."""
        if self._drawn and self._val_runs == self.interval:
            runner.logger.info(
                f'PoseVisualizationHook: validation pictures in '
                f'{osp.join(runner.log_dir, self.out_dir)}/epoch_<e>/ and in TensorBoard '
                f'(tensorboard --logdir {osp.join(runner.log_dir, "vis_data")})')

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        """Say where the test pictures went."""
        if self.test_out_dir is not None:
            runner.logger.info(f'PoseVisualizationHook: drew {self._drawn} test windows into '
                               f'{osp.join(runner.log_dir, self.test_out_dir)}')

    def _render(self, runner, data_batch: dict, outputs: Sequence[PoseDataSample],
                limit: int | None) -> list[tuple[str, np.ndarray]]:
        """``(id, picture)`` of the batch's samples that are still within ``limit``."""
        count = len(outputs) if limit is None else min(len(outputs), limit - self._drawn)
        if count <= 0:
            return []
        self._drawn += count
        inputs = self._dense_inputs(runner, data_batch['inputs'], count)
        return [(sample_id(sample), render_pose_sample(grid, sample, draw_gt=self.draw_gt,
                                                       min_size=self.min_size, body=self.body))
                for grid, sample in zip(inputs, outputs[:count])]

    @staticmethod
    def _dense_inputs(runner, inputs, count: int) -> torch.Tensor:
        """The first ``count`` inputs of a raw batch as a dense ``(count, C, H, W)`` tensor."""
        if isinstance(inputs, Sequence):  # one entry per sample: densify only those drawn
            inputs = inputs[:count]
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        dense = model.data_preprocessor(dict(inputs=inputs), False)['inputs']
        if not isinstance(dense, torch.Tensor):  # a preprocessor that does not stack
            dense = torch.stack(list(dense))
        return dense[:count]

    @staticmethod
    def _save(image: np.ndarray, path: str) -> None:
        """Write ``image`` (RGB) as a PNG, creating its folder."""
        os.makedirs(osp.dirname(path), exist_ok=True)
        Image.fromarray(image).save(path)
