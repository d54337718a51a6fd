"""The thread policy: how many cores a molgnn job may use, and how it splits them between worker processes and
torch threads, so that the processes of one job never compete for more cores than they have.

The budget of a job is an explicit ``threads=`` argument of the library, else ``MOLGNN_THREADS`` (which
the ``--threads`` option of the CLI sets, so that it reaches every process the job starts), else the
cores this process may run on: its CPU affinity (``os.sched_getaffinity``: ``taskset``, a cpuset, a
SLURM allocation) and the cgroup CPU quota of its container (``cpu.max`` or ``cpu.cfs_quota_us``),
the smaller of the two, divided among the ``LOCAL_WORLD_SIZE`` processes ``torchrun`` started on
this machine.

A job with worker processes gives each worker one torch thread and its main process the rest of the
budget, at least one, so ``workers + main threads <= budget`` whenever the budget exceeds the workers.
Workers asked for beyond the budget are reduced to it, with a warning. ``OMP_NUM_THREADS`` (the
variable torch, OpenMP and MKL read for the threads of one process; ``torchrun`` sets it to 1 when it
starts several processes) caps the main process's threads further.

torch's own default is the machine's core count, whatever the affinity, quota or other processes;
on a shared 2-core machine that made training 3-7x slower next to featurization workers.

Other processes that keep cores busy count too: training re-plans its threads at every epoch with
``uncontended``, which leaves the cores that other processes' runnable threads occupy right then
(``/proc/stat``'s ``procs_running``, less this process's own): next to one busy process on 2 cores, a
CGCNN epoch on torch's 2 threads took 41x its idle time (the threads wait for each other behind the busy
process), on the 1 thread left 1.76x, the pace of one thread (``benchmarks/train.py``).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from molgnn.errors import ConfigError

CGROUP = Path("/sys/fs/cgroup")
BUDGET_VARIABLE = "MOLGNN_THREADS"


def available_cores() -> int:
    """Cores this process may use: its CPU affinity and its cgroup's CPU quota, whichever is smaller (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    return max(1, min(cores, quota) if quota is not None else cores)


def cgroup_cpu_quota(root: Path = CGROUP) -> int | None:
    """Whole cores allowed by the cgroup CPU quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``), rounded up; None: no quota."""
    for path, read in ((root / "cpu.max", _v2_quota), (root / "cpu" / "cpu.cfs_quota_us", _v1_quota)):
        try:
            quota = read(path)
        except (OSError, ValueError, IndexError):
            continue
        return None if quota is None else max(1, math.ceil(quota))
    return None


def _v2_quota(path: Path) -> float | None:
    quota, period = path.read_text().split()[:2]
    return None if quota == "max" else int(quota) / int(period)


def _v1_quota(path: Path) -> float | None:
    quota = int(path.read_text())
    return None if quota <= 0 else quota / int((path.parent / "cpu.cfs_period_us").read_text())


def core_budget(threads: int | None = None) -> int:
    """Cores of this job: ``threads`` if given, else ``MOLGNN_THREADS``, else the available cores shared by the
    ``torchrun`` processes of this machine (see the module docstring)."""
    if threads is not None:
        return _whole(threads, "threads", 1)
    if os.environ.get(BUDGET_VARIABLE, "").strip():
        return _env_whole(BUDGET_VARIABLE)
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    return max(1, available_cores() // max(local, 1))


def process_threads() -> int | None:
    """``OMP_NUM_THREADS``: the threads one process may use (None: unset)."""
    return _env_whole("OMP_NUM_THREADS") if os.environ.get("OMP_NUM_THREADS", "").strip() else None


def _env_whole(name: str) -> int:
    text = os.environ[name].strip()
    try:
        return _whole(int(text), name, 1)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number >= 1, got {text!r}") from None


def _whole(value, name: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{name}: expected a whole number >= {least}, got {value!r}")
    return value


@dataclass(frozen=True)
class CorePlan:
    """How a job uses its budget: ``workers`` processes of one torch thread each, and ``main_threads`` in its main process."""

    budget: int
    workers: int
    main_threads: int


def plan(workers: int | None = None, threads: int | None = None) -> CorePlan:
    """The plan for a job with ``workers`` processes (None: one per core of the budget; 0: none, all in this process)."""
    budget = core_budget(threads)
    if workers is None:
        workers = budget
    elif _whole(workers, "workers", 0) > budget:
        warnings.warn(f"{workers} worker processes asked for, {budget} cores available: using {budget} "
                      "(--threads sets the budget)", stacklevel=2)
        workers = budget
    main = max(1, budget - workers)
    return CorePlan(budget, workers, min(main, process_threads() or main))


def other_runnable(samples: int = 3, interval: float = 0.01) -> float | None:
    """Threads of other processes ready to run on this process's cores right now (None where Linux's ``/proc`` does
    not tell): the runnable threads of the machine (``procs_running`` of ``/proc/stat``) less this process's
    own, the smallest of ``samples`` readings ``interval`` seconds apart (a thread that just woke up does not
    count), scaled by the share of the machine's cores this process may use."""
    readings = []
    for k in range(samples):
        if k:
            time.sleep(interval)
        try:
            with open("/proc/stat") as stat:
                running = next(int(line.split()[1]) for line in stat if line.startswith("procs_running"))
            own = sum(_runnable(task) for task in Path("/proc/self/task").iterdir())
        except (OSError, StopIteration, ValueError):
            return None
        readings.append(max(0, running - own))
    return min(readings) * available_cores() / (os.cpu_count() or 1)


def _runnable(task: Path) -> bool:
    try:
        return (task / "stat").read_text().rsplit(")", 1)[1].split()[0] == "R"
    except (OSError, IndexError):
        return False


def uncontended(threads: int) -> int:
    """``threads`` less the cores other processes keep busy right now (``other_runnable``), at least 1."""
    others = other_runnable() if threads > 1 else None
    if not others:
        return threads
    return max(1, min(threads, available_cores() - math.ceil(others - 0.5)))


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads in this process, and restore the previous count after it."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
