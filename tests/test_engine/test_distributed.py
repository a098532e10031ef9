"""Distributed training without a GPU: SparkposeRunner on gloo, tools/dist_train.sh.

The two-process test trains the demo config, shrunk, with the backbone frozen for the
first epoch. ``DDPProbeHook`` (imported by the training processes through
``custom_imports``, with this folder on ``PYTHONPATH``) records what each rank saw and its
final weights.
"""
import os
import os.path as osp
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from engine_toy import build_runner, keep_torch_determinism, toy_config  # noqa: F401
from mmengine.hooks import Hook
from mmengine.model import MMDistributedDataParallel

from sparkpose.engine import load_checkpoint_safely
from sparkpose.engine.runner import init_cpu_process_group
from sparkpose.registry import HOOKS

REPO = Path(__file__).parents[2]
DEMO_CONFIG = REPO / 'configs' / 'voxelcnn' / 'rot6d_voxelcnn_1xb32-30e_synthetic-128x128.py'


@HOOKS.register_module()
class DDPProbeHook(Hook):
    """Write ``probe_rank<r>.pth`` to the work dir: the DDP set-up, the samples of every
    iteration, whether the backbone was frozen, backbone weights after every epoch and
    the final parameters."""

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        self.record = dict(
            world_size=runner.world_size, backend=torch.distributed.get_backend(),
            wrapper=type(runner.model).__name__,
            find_unused_parameters=runner.model.find_unused_parameters,
            samples=[], frozen=[], backbone=[self._backbone(runner)])

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.record['samples'] += [(s.seq_id, s.label_index)
                                   for s in data_batch['data_samples']]
        backbone = runner.model.module.backbone
        self.record['frozen'].append(
            (runner.epoch, not any(p.requires_grad for p in backbone.parameters())))

    def after_train_epoch(self, runner) -> None:
        self.record['backbone'].append(self._backbone(runner))

    def after_train(self, runner) -> None:
        self.record['params'] = {name: param.detach().clone()
                                 for name, param in runner.model.module.named_parameters()}
        torch.save(self.record, osp.join(runner.work_dir, f'probe_rank{runner.rank}.pth'))

    @staticmethod
    def _backbone(runner) -> dict:
        return {k: v.clone() for k, v in runner.model.module.backbone.state_dict().items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def one_process_job_cfg(tmp_path, monkeypatch):
    """A toy config for the ``pytorch`` launcher (NCCL asked), in a one-process torchrun job.

    Sets what torchrun sets; mmengine sets the thread counts of a distributed run in
    os.environ, which monkeypatch restores afterwards. The process group is destroyed after
    the test.
    """
    for key, value in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(free_port()), OMP_NUM_THREADS='1',
                           MKL_NUM_THREADS='1').items():
        monkeypatch.setenv(key, value)
    yield toy_config(tmp_path, max_epochs=2, val=False, launcher='pytorch',
                     env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60)))
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


@pytest.mark.skipif(torch.cuda.is_available(), reason='the fallback for machines without GPU')
@pytest.mark.usefixtures('keep_torch_determinism')
def test_runner_joins_gloo_group_and_wraps_cpu_module(one_process_job_cfg):
    runner = build_runner(one_process_job_cfg)  # mmengine's init_dist would set a CUDA device
    assert torch.distributed.get_backend() == 'gloo'
    assert isinstance(runner.model, MMDistributedDataParallel)
    assert runner.model.device_ids is None and runner.model.find_unused_parameters
    runner.train()  # frozen epoch, then trained: StagedUnfreezeHook accepts the wrapper
    assert runner.epoch == 2


@pytest.mark.cuda
@pytest.mark.usefixtures('keep_torch_determinism')
def test_pytorch_launcher_world_size_1_joins_nccl_and_wraps_the_gpu_module(one_process_job_cfg):
    runner = build_runner(one_process_job_cfg)
    assert torch.distributed.get_backend() == 'nccl'
    assert isinstance(runner.model, MMDistributedDataParallel)
    assert runner.model.device_ids == [0]
    assert next(runner.model.parameters()).device == torch.device('cuda', 0)
    runner.train()
    assert runner.epoch == 2


def test_cpu_process_group_needs_torchrun():
    with pytest.raises(RuntimeError, match='--launcher slurm needs a GPU.*torchrun'):
        init_cpu_process_group('slurm', dict(backend='nccl'))


@pytest.mark.slow
def test_two_process_training_on_cpu(synthetic_root, tmp_path):
    config = tmp_path / 'ddp_demo.py'
    config.write_text(
        f'_base_ = [{str(DEMO_CONFIG)!r}]\n'
        "custom_imports = dict(imports=['test_distributed'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='StagedUnfreezeHook', frozen_epochs=1),\n"
        "                dict(type='DDPProbeHook')]\n"
        'find_unused_parameters = True\n'
        "visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])\n")
    work_dir = tmp_path / 'work'
    # 8 samples, 2 ranks, batch 2: 2 iterations per rank and epoch.
    options = [f'train_dataloader.dataset.data_root={synthetic_root}',
               'train_dataloader.dataset.indices=8', 'train_dataloader.batch_size=2',
               'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
               'train_cfg.max_epochs=2', 'val_dataloader=None', 'val_cfg=None',
               'val_evaluator=None', 'default_hooks.checkpoint.save_best=None',
               'default_hooks.logger.interval=1']
    env = dict(os.environ, PORT=str(free_port()), PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join(map(str, (Path(__file__).parent, REPO / "tests"))),
               CUDA_VISIBLE_DEVICES='',
               OMP_NUM_THREADS='1')
    result = subprocess.run(
        ['bash', str(REPO / 'tools' / 'dist_train.sh'), str(config), '2',
         '--work-dir', str(work_dir), '--cfg-options', *options],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]

    rank0, rank1 = (torch.load(work_dir / f'probe_rank{r}.pth', weights_only=True)
                    for r in (0, 1))
    for record in (rank0, rank1):
        assert (record['world_size'], record['backend'], record['wrapper']) == (
            2, 'gloo', 'MMDistributedDataParallel')
        assert record['find_unused_parameters'] is True
        # Epoch 1 frozen, epoch 2 trained: the hook's schedule, on each rank.
        assert record['frozen'] == [(0, True), (0, True), (1, False), (1, False)]
        start, epoch1, epoch2 = record['backbone']
        assert states_equal(start, epoch1)  # weights and BatchNorm statistics held
        assert not torch.equal(epoch1['layers.0.0.weight'], epoch2['layers.0.0.weight'])
    # Each rank trained on its own half of the data...
    assert len(rank0['samples']) == len(rank1['samples']) == 8
    assert not set(rank0['samples'][:4]) & set(rank1['samples'][:4])
    # ...yet gradients were averaged: bit-identical parameters on both ranks, backbone too.
    assert states_equal(rank0['params'], rank1['params'])
    assert states_equal({k: v for k, v in rank0['backbone'][2].items() if 'running' not in k
                         and 'num_batches' not in k},
                        {k: v for k, v in rank1['backbone'][2].items() if 'running' not in k
                         and 'num_batches' not in k})

    # One set of checkpoints, config dump and logs (rank 0's), holding the weights rank 1
    # ended with.
    assert sorted(p.name for p in work_dir.iterdir() if p.is_file()) == [
        'ddp_demo.py', 'epoch_1.pth', 'epoch_2.pth', 'last_checkpoint', 'probe_rank0.pth',
        'probe_rank1.pth']
    assert len([p for p in work_dir.iterdir() if p.is_dir()]) == 1
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith('epoch_2.pth')
    state = load_checkpoint_safely(str(work_dir / 'epoch_2.pth'))['state_dict']
    assert states_equal({k: state[k] for k in rank1['params']}, rank1['params'])
