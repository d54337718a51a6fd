"""The learners of a run: this process's rank among them, its device, and the main learner's role.

``torchrun`` starts the processes and describes them in the environment
(``molgnn.distributed.environment``); ``join`` builds the process group from it (NCCL when the
process has a GPU, gloo otherwise). Only the main learner (rank 0) touches the run folder: it
reads checkpoints and hands them to the others over the process group. (The run folder should
still be on a file system that every node sees: after an elastic restart, rank 0 may be on
another node.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

from molgnn.distributed.environment import TORCHRUN_VARIABLES, default_device, torchrun_environment
from molgnn.errors import MolgnnError

T = TypeVar("T")


class LaunchError(MolgnnError, RuntimeError):
    """A distributed mode outside ``torchrun``, or ``torchrun`` without a distributed mode."""


@dataclass(frozen=True)
class Learners:
    """This process's place among the learners; ``size == 1`` and ``distributed=False`` for a plain run."""

    rank: int
    size: int
    device: torch.device
    distributed: bool

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def single(cls, device: torch.device) -> Learners:
        return cls(0, 1, device, False)

    def from_main(self, produce: Callable[[], T]) -> T:
        """``produce()`` run on the main learner only, its result sent to every learner (any picklable value).

        An exception raised by ``produce`` is raised on every learner, so none waits forever for the result.
        """
        if not self.distributed:
            return produce()
        box = [None]
        if self.is_main:
            try:
                box = [(True, produce())]
            except (OSError, ValueError, KeyError, RuntimeError) as error:
                box = [(False, error)]
        dist.broadcast_object_list(box, src=0)
        produced, value = box[0]
        if not produced:
            raise value
        return value

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over the learners (float64, one all-reduce)."""
        if not self.distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device if backend() == "nccl" else "cpu")
        dist.all_reduce(tensor)
        return tensor.tolist()


def backend() -> str:
    """``nccl`` when this process drives a GPU, ``gloo`` otherwise."""
    return "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"


def join(mode: str, device: str | torch.device | None = None) -> Learners:
    """The learners of a run in ``mode`` (``TrainConfig.distributed``); joins the process group if needed.

    ``mode == "none"`` outside ``torchrun`` (or under ``torchrun`` with one process) is a plain
    single-process run on ``device``. A distributed mode needs ``torchrun``; several processes
    without a distributed mode would all write the same run folder, so both are refused.
    """
    job = torchrun_environment()
    if mode == "none":
        if job.launched and job.world_size > 1:
            raise LaunchError(f"torchrun started {job.world_size} processes but the training config has distributed='none': "
                              "choose ddp, kavg, mavg or hier (molgnn train --distributed ...)")
        return Learners.single(torch.device(device) if device is not None else default_device())
    if not job.launched:
        raise LaunchError(f"distributed={mode!r} needs the processes and variables that torchrun sets up "
                          f"({', '.join(TORCHRUN_VARIABLES)}); launch with torchrun --nproc-per-node N -m molgnn train ...")
    device = default_device()
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        store = _attempt_store()
        dist.init_process_group(backend(), device_id=device if device.type == "cuda" else None, store=store,
                                rank=job.rank if store else -1, world_size=job.world_size if store else -1)
    return Learners(dist.get_rank(), dist.get_world_size(), device, True)


def _attempt_store() -> dist.Store | None:
    """The store of this ``torchrun`` attempt, or None to let ``init_process_group`` read the environment.

    ``torchrun``'s agent lends its rendezvous store to the workers and keeps it across restarts, and
    torch reads it without a per-attempt prefix: the workers of a restarted attempt can pick up the
    addresses that the dead workers published and wait for them forever (pytorch/pytorch#135712).
    On one node every worker has the same restart count, so the store is prefixed with it. Across
    nodes the counts differ (a node restarted for a membership change keeps its count), so such a
    job must opt out of the shared store, which gives every attempt a fresh one.
    """
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True" or int(os.environ.get("TORCHELASTIC_MAX_RESTARTS", "0")) == 0:
        return None
    if int(os.environ.get("GROUP_WORLD_SIZE", "1")) > 1:
        raise LaunchError("torchrun with several nodes and --max-restarts shares one store across restarts, which "
                          "can hang the restarted workers (pytorch/pytorch#135712): export "
                          "TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 on every node before torchrun")
    shared = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False)
    return dist.PrefixStore(f"molgnn/attempt{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", shared)


def leave() -> None:
    """Destroy the process group if one was joined (end of a ``torchrun`` job)."""
    if dist.is_initialized():
        dist.destroy_process_group()
