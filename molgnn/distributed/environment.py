"""What ``torchrun`` tells a process about its place in a job, and the device a process computes on.

``torchrun`` starts the processes of a job and sets ``RANK`` (this process among all),
``WORLD_SIZE`` (how many), ``LOCAL_RANK`` (this process among those of its node), ``MASTER_ADDR``
and ``MASTER_PORT`` (where the rendezvous is). A process started otherwise is rank 0 of 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class TorchrunEnvironment:
    """This process's ``rank`` of ``world_size``, its ``local_rank`` on its node, and whether
    ``torchrun`` launched it (all of ``TORCHRUN_VARIABLES`` set)."""

    rank: int
    world_size: int
    local_rank: int
    launched: bool


def torchrun_environment() -> TorchrunEnvironment:
    """The job as the environment describes it; rank 0 of 1 outside ``torchrun``."""
    return TorchrunEnvironment(rank=int(os.environ.get("RANK", 0)), world_size=int(os.environ.get("WORLD_SIZE", 1)),
                               local_rank=int(os.environ.get("LOCAL_RANK", 0)),
                               launched=all(name in os.environ for name in TORCHRUN_VARIABLES))


def default_device() -> torch.device:
    """The GPU of this process (``LOCAL_RANK`` modulo the GPUs of the node) when there is one, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", torchrun_environment().local_rank % torch.cuda.device_count())
    return torch.device("cpu")
