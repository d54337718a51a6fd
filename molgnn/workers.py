"""Worker processes of bulk jobs (dataset builds, screens): they share the machine and never outlive their parent.

``start_worker`` is the initializer of every ``ProcessPoolExecutor`` molgnn starts. Each worker
runs one torch thread (the cores are shared with the other workers and the model), exits when its
parent process dies (a parent killed with ``kill -9`` cannot stop its workers, which would
otherwise stay behind, blocked writing results nobody reads), and may get an address-space budget,
so that a record that allocates without bound raises ``MemoryError`` in its worker, where it
becomes that record's reject, instead of drawing the machine into the kernel's out-of-memory killer.

``record_time_limit`` bounds the time of one piece of work in a worker by ``SIGALRM``: a record
that takes longer raises ``RecordTimeoutError`` there. Python checks for the signal between
bytecodes, so a single call into compiled code finishes first; that is why the chemistry layer
bounds its searches before starting them.
"""

from __future__ import annotations

import os
import resource
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from molgnn.errors import MolgnnError

PARENT_POLL_SECONDS = 0.5


class RecordTimeoutError(MolgnnError):
    """Work on a record that took longer than its budget (raised in a worker by ``record_time_limit``).

    No builtin base: the parsers catch ``OSError``, ``RuntimeError`` and ``ValueError`` of the libraries
    they call, and must not take the end of a budget for a bad file.
    """


def start_worker(parent_pid: int, memory_budget: int | None = None) -> None:
    """Initializer of a worker process: one torch thread, exit with the parent ``parent_pid``, Ctrl-C left to the
    parent, optional memory budget.

    ``memory_budget`` (bytes) is the address space the worker may add to what it has at start-up
    (on Linux; elsewhere the kernel does not enforce it).
    """
    import torch

    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="exit-with-parent", daemon=True).start()
    size = _address_space()
    if memory_budget is not None and size is not None:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        limit = size + int(memory_budget)
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:  # an orphan is adopted by another process (init or a subreaper)
        threading.Event().wait(PARENT_POLL_SECONDS)
    os._exit(1)


def _address_space() -> int | None:
    """This process's virtual memory size in bytes (``VmSize``), or None where ``/proc`` does not tell it
    (there the address-space limit is not enforced either)."""
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        return None


@contextmanager
def record_time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``RecordTimeoutError`` in the block after ``seconds`` (None or in a thread other than the main one: no limit)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise RecordTimeoutError(f"took more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
