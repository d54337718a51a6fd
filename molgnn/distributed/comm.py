"""Counting what the learners all-reduce: calls and bytes, per epoch.

Every all-reduce of a training epoch goes through ``torch.distributed.all_reduce`` called from
Python: the model averagers' ``average_parameters`` and, because ``DataParallel`` registers
PyTorch's own ``allreduce_hook`` as its communication hook, DDP's gradient buckets too. So one
wrapper around that function sees them all; it is installed only for the duration of
``counting_all_reduce`` and then removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch.distributed as dist


@dataclass
class AllReduceCount:
    """All-reduce calls and the bytes this learner contributed to them."""

    calls: int = 0
    bytes: int = 0

    def add(self, tensor) -> None:
        self.calls += 1
        self.bytes += tensor.numel() * tensor.element_size()


@contextmanager
def counting_all_reduce(count: AllReduceCount) -> Iterator[AllReduceCount]:
    """Within the block, every ``torch.distributed.all_reduce`` call is added to ``count``."""
    original = dist.all_reduce

    def counted(tensor, *args, **kwargs):
        count.add(tensor)
        return original(tensor, *args, **kwargs)

    dist.all_reduce = counted
    try:
        yield count
    finally:
        dist.all_reduce = original
