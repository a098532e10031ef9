"""H5FilePool: LRU bound, pickling without handles, reopening after fork."""
import os
import pickle

import numpy as np

from sparkpose.datasets.h5_file_pool import H5FilePool
from sparkpose.datasets.spades_reader import SPADESSequence


def test_handle_pool_is_lru_bounded_and_pickles_empty(spades_file_factory):
    pool = H5FilePool(max_open=2)
    paths = [str(spades_file_factory(f'RT00{i}', seed=i)) for i in range(3)]
    seqs = [SPADESSequence(p, pool=pool) for p in paths]
    handles = [pool.get(p) for p in paths[:2]]
    seqs[2].read_window(3)
    assert len(pool) == 2 and not handles[0].id.valid and handles[1].id.valid
    assert len(pickle.loads(pickle.dumps(pool))) == 0


def test_pool_reopens_after_fork(spades_file_factory):
    seq = SPADESSequence(spades_file_factory())
    expected = seq.read_window(6)['t']  # the parent holds an open handle now
    parent_handle = seq._pool.get(seq.path)
    pid = os.fork()
    if pid == 0:  # child: must open its own handle and read the same events
        ok = (seq._pool.get(seq.path) is not parent_handle
              and np.array_equal(seq.read_window(6)['t'], expected))
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent_handle.id.valid  # the child's close did not touch the parent's handle
    np.testing.assert_array_equal(seq.read_window(6)['t'], expected)
