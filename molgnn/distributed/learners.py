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
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import torch
import torch.distributed as dist

from molgnn.distributed.environment import TORCHRUN_VARIABLES, default_device, torchrun_environment
from molgnn.errors import MolgnnError

T = TypeVar("T")
SAY_WAITING_AFTER = 3.0  # seconds a learner waits for another one's turn before it says so


class LaunchError(MolgnnError, RuntimeError):
    """A distributed mode outside ``torchrun``, or ``torchrun`` without a distributed mode."""


class TurnError(MolgnnError, RuntimeError):
    """A learner that waited in vain for another one's turn: it took too long, or it failed."""


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

    def in_turns(self, produce: Callable[[], T], what: str, timeout: float, progress: bool = True) -> T:
        """``produce()`` on rank 0 first, then on the first learner (local rank 0) of every other node, then on the rest.

        For work that the first call leaves on disk for the next ones, like building a dataset
        cache: rank 0 builds it; on a disk that every node sees, the others then only read it,
        and on a node with a disk of its own, its first learner builds it for the node. Between
        the turns the learners meet; a learner that waits longer than ``timeout`` seconds, or
        whose awaited turn failed, raises ``TurnError`` naming ``what`` it waits for (e.g. "the
        dataset cache of sider"); a failed turn raises its own error on the learner it failed on.
        """
        if not self.distributed:
            return produce()
        turn = 0 if self.rank == 0 else 1 if torchrun_environment().local_rank == 0 else 2
        group = dist.new_group(backend="gloo", timeout=timedelta(seconds=timeout))
        value = None
        try:
            for current, who in enumerate(("rank 0", "the first learner of each node", "the other learners")):
                error = None
                if turn == current:
                    try:
                        value = produce()
                    except (OSError, ValueError, KeyError, RuntimeError) as raised:
                        error = raised
                failed = self._meet(group, error is not None, f"{who} ({what})", timeout, progress and turn > current)
                if error is not None:
                    raise error
                if failed:
                    raise TurnError(f"rank {self.rank}: {who} failed ({what}); the error of that learner says why")
        finally:
            dist.destroy_process_group(group)
        return value

    def _meet(self, group, failed: bool, awaited: str, timeout: float, progress: bool) -> bool:
        """Wait for every learner (at most ``timeout`` s, saying so after a few); whether any of them ``failed``."""
        flag = torch.tensor([int(failed)])
        work = dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=group, async_op=True)
        started, said = time.monotonic(), not progress
        while not work.is_completed():
            if not said and time.monotonic() - started > SAY_WAITING_AFTER:
                print(f"rank {self.rank}: waiting for {awaited}, up to {timeout:.0f} s", file=sys.stderr)
                said = True
            time.sleep(0.05)
        try:
            work.wait()
        except RuntimeError as error:  # gloo's timeout, or a learner that died
            raise TurnError(f"rank {self.rank}: waited {time.monotonic() - started:.0f} s in vain for {awaited}, the "
                            f"limit being {timeout:.0f} s: {str(error).splitlines()[0]}") from error
        return bool(flag.item())

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
