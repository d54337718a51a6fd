"""Which graphs each learner trains and validates on, and the validation predictions put back together.

Training uses ``DistributedSampler``: every epoch one permutation seeded by the epoch's seed
only, so it is the same whatever the number of learners, and learner r takes positions
r, r + P, r + 2P, ... of it. Step t of the learners together covers the same graphs as step t of
one process with the global batch. ``DistributedSampler`` pads the permutation with its first
graphs to a multiple of P; in training those few graphs count twice, as in every DDP job.

Validation must see every graph exactly once: the padded positions are dropped before
predicting, and the learners' predictions are gathered back into the dataset's order, so
every learner computes the same metric (and makes the same early-stopping decision).
"""

from __future__ import annotations

import numpy as np
import torch.distributed as dist
from torch.utils.data.distributed import DistributedSampler

from molgnn.distributed.learners import Learners


def training_indices(size: int, learners: Learners, seed: int) -> list[int]:
    """This learner's graphs for the epoch seeded with ``seed`` (``molgnn.train.trainer.epoch_seed``), in the
    order it trains on them."""
    sampler = DistributedSampler(range(size), num_replicas=learners.size, rank=learners.rank, shuffle=True, seed=seed)
    return list(sampler)


def validation_indices(size: int, learners: Learners) -> list[int]:
    """This learner's share of ``range(size)`` without ``DistributedSampler``'s padding."""
    sampler = DistributedSampler(range(size), num_replicas=learners.size, rank=learners.rank, shuffle=False)
    positions = learners.rank + learners.size * np.arange(sampler.num_samples)
    return [index for index, position in zip(sampler, positions) if position < size]


def gather_predictions(learners: Learners, indices: list[int], y_true: np.ndarray, y_pred: np.ndarray,
                       loss: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Every learner's ``(y_true, y_pred, mean loss)`` joined in dataset order; the same on every learner."""
    if not learners.distributed:
        return y_true, y_pred, loss
    shares = [None] * learners.size
    dist.all_gather_object(shares, (indices, y_true, y_pred, loss * len(indices)))
    order = np.argsort(np.concatenate([np.asarray(share[0], dtype=np.int64) for share in shares]), kind="stable")
    truths = [share[1] for share in shares if len(share[0])]
    predictions = [share[2] for share in shares if len(share[0])]
    count = sum(len(share[0]) for share in shares)
    total = sum(share[3] for share in shares)
    return np.concatenate(truths)[order], np.concatenate(predictions)[order], total / max(count, 1)


def learner_batch_size(batch_size: int, learners: Learners) -> int:
    """Graphs per learner and step for the global ``batch_size`` (at least one)."""
    return max(batch_size // learners.size, 1)
