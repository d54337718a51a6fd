import numpy as np
import torch

from molgnn.distributed.learners import Learners
from molgnn.distributed.sharding import learner_batch_size, training_indices, validation_indices


def _learners(rank: int, size: int) -> Learners:
    return Learners(rank, size, torch.device("cpu"), False)


def test_learners_share_the_single_process_order_step_by_step():
    one = training_indices(64, _learners(0, 1), seed=7)
    for size in (2, 4):
        shards = [training_indices(64, _learners(rank, size), seed=7) for rank in range(size)]
        batch = learner_batch_size(16, _learners(0, size))
        for step in range(4):  # step t of the learners together is global batch t of one process
            together = sorted(index for shard in shards for index in shard[step * batch:(step + 1) * batch])
            assert together == sorted(one[step * 16:(step + 1) * 16])
    assert training_indices(64, _learners(0, 1), seed=8) != one


def test_validation_sees_every_graph_exactly_once_without_padding():
    for size in (1, 2, 3, 4, 8):
        shares = [validation_indices(9, _learners(rank, size)) for rank in range(size)]
        assert sorted(np.concatenate(shares).astype(int).tolist()) == list(range(9))
    assert validation_indices(2, _learners(3, 4)) == []
