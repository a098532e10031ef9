"""Inference on whole trajectory files: one pose per label timestamp (mmpose-style API)."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from sparkpose.datasets import SPADESDataset
from sparkpose.datasets.collate import pose_collate
from sparkpose.engine import (
    check_state_dict,
    checkpoint_architecture,
    describe_architecture,
    load_checkpoint_safely,
    use_checkpoint_body_model,
)
from sparkpose.registry import MODELS
from sparkpose.structures import POSE_STATUSES, filter_pose_sequence, load_body_model

from .pose_smoothing import smooth_pose_sequence


@dataclass
class SequencePoses:
    """Predicted poses of one file, in label order.

    Attributes:
        seq_id: Sequence name, e.g. ``'RT901'``.
        label_index: ``(N,)`` label indices.
        timestamp: ``(N,)`` label timestamps in the file's own ticks.
        t: ``(N, 3)`` translations (m).
        q: ``(N, 4)`` canonical scalar-last quaternions.
        status: ``(N,)`` pose status codes of the raw windows
            (:data:`~sparkpose.structures.POSE_STATUSES`).
        confidence: ``(N,)`` the raw windows' confidences in ``[0, 1]``.
    """

    seq_id: str
    label_index: np.ndarray
    timestamp: np.ndarray
    t: np.ndarray
    q: np.ndarray
    status: np.ndarray
    confidence: np.ndarray


def init_model(config: str | Path | Config, checkpoint: str | Path | None = None,
               device: str = 'cpu', cfg_options: dict | None = None) -> torch.nn.Module:
    """Build the estimator of ``config`` and load ``checkpoint`` (weights-only, allow-listed).

    A body model stored in the checkpoint's meta replaces the config's ``body_model`` paths.

    Returns:
        The model in eval mode on ``device``, with the config as ``model.cfg``.
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'sparkpose'))
    loaded = None if checkpoint is None else load_checkpoint_safely(str(checkpoint), 'cpu')
    if loaded is not None:
        use_checkpoint_body_model(cfg, loaded)
    model = MODELS.build(cfg.model)
    if loaded is not None:
        state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else None
        if not isinstance(state, dict) or not all(
                isinstance(value, torch.Tensor) for value in state.values()):
            raise ValueError(f"{checkpoint}: expected a dict with a 'state_dict' of tensors "
                             f'(an mmengine checkpoint) or a bare state dict')
        check_state_dict(model, state, str(checkpoint), describe_architecture(cfg.model),
                         checkpoint_architecture(loaded))
        model.load_state_dict(state)
    model.cfg = cfg
    return model.to(device).eval()


def _predict_dataset(model: torch.nn.Module, dataset: SPADESDataset, batch_size: int
                     ) -> tuple[np.ndarray, ...]:
    """Label indices, timestamps, ``t``, ``q``, statuses and confidences of every sample
    (a head that reports no status: ``regressed``, confidence 1)."""
    rows = []
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = pose_collate([dataset[i] for i in range(start, min(start + batch_size,
                                                                        len(dataset)))])
            for sample in model.test_step(batch):
                rows.append((sample.label_index, sample.timestamp,
                             sample.pred_t.double().cpu().numpy(),
                             sample.pred_q.double().cpu().numpy(),
                             int(sample.extra_output('pose_status',
                                                     POSE_STATUSES.index('regressed'))),
                             float(sample.extra_output('pose_confidence', 1.0))))
    rows.sort(key=lambda row: row[0])
    index, stamps, t, q, status, confidence = zip(*rows) if rows else ((),) * 6
    return (np.asarray(index, np.int64), np.asarray(stamps, np.int64),
            np.asarray(t).reshape(-1, 3), np.asarray(q).reshape(-1, 4),
            np.asarray(status, np.int64), np.asarray(confidence, np.float64))


def _body_symmetries(model: torch.nn.Module) -> np.ndarray | None:
    """The symmetries of the body model the config's metric reads (None without one)."""
    evaluator = model.cfg.get('test_evaluator', {})
    path = evaluator.get('body_model') if isinstance(evaluator, dict) else None
    return None if path is None else load_body_model(path).symmetries


def inference_sequence(model: torch.nn.Module, h5_path: str | Path, time_unit: str = 'auto',
                       batch_size: int = 32, smoothing: int | None = None,
                       sequence_filter: dict | None = None) -> SequencePoses:
    """Predict the pose at every label timestamp of one SPADES file.

    Works on test files (label timestamps, no poses) and on 1 µs files; the window and the
    representation come from the model's test pipeline (``model.cfg``), test-time
    augmentation from the model's ``test_cfg`` (e.g. ``init_model(...,
    cfg_options={'model.test_cfg.flip_test': True})``).

    Args:
        model: From :func:`init_model`.
        h5_path: Trajectory file; ``camera.json`` is read from its folder if present.
        time_unit: ``'auto'``, ``'100us'`` or ``'us'``.
        batch_size: Windows per forward pass.
        smoothing: Odd window (labels) of the moving average; ``None`` for none.
        sequence_filter: Keyword arguments of
            :func:`~sparkpose.structures.filter_pose_sequence` (``{}``: offline, the
            defaults; ``dict(causal=True)``: on-board); ``None``: raw per-window poses.
            The symmetries are the body model's of the config's ``test_evaluator``.
    """
    path = Path(h5_path)
    dataset_cfg = model.cfg.test_dataloader.dataset

    dataset = SPADESDataset(
        data_root=str(path.parent), sequences=[path.stem],
        window_ms=dataset_cfg.get('window_ms', 100.0),
        anchor=dataset_cfg.get('anchor', 'end'), time_unit=time_unit,
        camera_file=dataset_cfg.get('camera_file', 'camera.json'),
        pipeline=[dict(step) for step in dataset_cfg.pipeline], test_mode=True,
        index_cache_dir=None)
    index, stamps, t, q, status, confidence = _predict_dataset(model, dataset, batch_size)
    if sequence_filter is not None and len(t):
        t, q = filter_pose_sequence(t, q, confidence, _body_symmetries(model),
                                    **sequence_filter)
    t, q = torch.from_numpy(t), torch.from_numpy(q)
    if smoothing and smoothing > 1:
        t, q = smooth_pose_sequence(t, q, window=smoothing)
    return SequencePoses(path.stem, index, stamps, t.numpy(), q.numpy(), status, confidence)
