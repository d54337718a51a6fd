"""A Parsl executor on a local process pool: the campaign's default on one machine.

Parsl's local choice, the HighThroughputExecutor with a ``LocalProvider``, starts an interchange, a
worker pool with its manager, then the workers: about 4.6 s on 2 cores before the first simulation
runs, a sixth of a campaign of 48 Henry simulations. Parsl ships no process-pool executor, and its
``ThreadPoolExecutor`` runs tasks in threads of one process, where a simulation's time limit (a
signal, in a worker's main thread) cannot work. So this executor runs Parsl's own task format
(``pack_apply_message`` and ``execute_task``, as the HighThroughputExecutor's workers do) on a Pebble
process pool, whose workers start in a fraction of a second. Pebble rather than
``concurrent.futures``: when a worker dies (a simulation that crashes the interpreter), only the task it
ran fails, with the exit code, and a new worker takes the next task; a ``concurrent.futures`` pool
would fail every queued task and refuse new ones.

Workers are started with ``spawn`` (a fresh interpreter: no thread or OpenMP state inherited from the
task server) as soon as the executor starts, run one torch/BLAS thread each, and call ``warm(*warm_args)``
(e.g. to import what their tasks need) before their first task.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import sys
from concurrent.futures import Future

from parsl.executors.base import ParslExecutor
from parsl.executors.errors import InvalidResourceSpecification
from parsl.executors.execute_task import execute_task
from parsl.serialize import pack_apply_message
from parsl.utils import RepresentationMixin
from pebble import ProcessExpired, ProcessPool

from molgnn.errors import MolgnnError

SHUTDOWN_SECONDS = 10  # for the workers to end on their own at shutdown
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MOLGNN_THREADS": "1"}


class LocalProcessExecutor(ParslExecutor, RepresentationMixin):
    """``workers`` processes on this machine, one thread each; each calls ``warm(*warm_args)`` when it starts (``warm``:
    a module-level function, or None)."""

    def __init__(self, label: str = "local", workers: int = 1, warm=None, warm_args: tuple = ()):
        super().__init__()
        self.label, self.workers, self.warm, self.warm_args = label, workers, warm, tuple(warm_args)
        self.storage_access = None
        self.working_dir = None
        self.pool = None

    def start(self):
        self.pool = ProcessPool(max_workers=self.workers, initializer=_start_worker, initargs=(self.warm, self.warm_args),
                                context=multiprocessing.get_context("spawn"))
        self.pool.schedule(os.getpid)  # Pebble starts its workers with the first task: start them now

    def submit(self, func, resource_specification, *args, **kwargs):
        if resource_specification:
            raise InvalidResourceSpecification(set(resource_specification), f"the {type(self).__name__} takes no resource "
                                               "specification")
        task = self.pool.schedule(_run_task, args=(pack_apply_message(func, args, kwargs),))
        future = Future()
        task.add_done_callback(lambda done: _settle(future, done, self.label))
        return future

    def shutdown(self, block: bool = True):
        self.pool.close()  # Parsl shuts an executor down once its tasks are done
        try:
            self.pool.join(timeout=SHUTDOWN_SECONDS)
        except TimeoutError:  # a task still running: cut off
            self.pool.stop()
            self.pool.join()
        super().shutdown()

    def monitor_resources(self) -> bool:
        return False


class WorkerDiedError(MolgnnError, RuntimeError):
    """A worker process that ended while it ran a task (killed, or crashed by the task)."""


def _settle(future: Future, task: Future, label: str) -> None:
    """Give ``future`` the outcome of Pebble's ``task``; a dead worker becomes a ``WorkerDiedError`` with its exit."""
    if task.cancelled():
        future.cancel()
        return
    error = task.exception()
    if isinstance(error, ProcessExpired):
        how = f"exit code {error.exitcode}" if error.exitcode >= 0 else f"killed by {_signal_name(-error.exitcode)}"
        future.set_exception(WorkerDiedError(f"the {label} worker process (pid {error.pid}) died while running the task: {how}"))
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(task.result())


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


_running = False  # whether this worker process is running a task


def _run_task(message: bytes):
    global _running
    _running = True
    try:
        return execute_task(message)
    finally:
        _running = False


def _exit_on_terminate(signum, frame):
    """SIGTERM (Pebble's way to end a worker): release what the process holds and exit.

    Idle, the worker skips the interpreter's teardown, which takes about 0.4 s with torch imported and,
    paid worker after worker, made every campaign's shut-down a second longer: the exit handlers run
    (multiprocessing's among them, which unlink the worker's semaphores, e.g. tqdm's lock, that its resource
    tracker would otherwise report), then the process ends. In a task, it unwinds as ``SystemExit``, so that
    the task cleans up after itself (a shell-command oracle's child process is killed, e.g.).
    """
    if _running:
        raise SystemExit(128 + signum)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and not stream.closed:
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(128 + signum)


def _start_worker(warm, warm_args: tuple) -> None:
    os.environ.update(ONE_THREAD)  # before the first import of torch or a BLAS
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    if warm is not None:
        try:
            warm(*warm_args)
        except Exception:  # noqa: BLE001 - the first task meets the same failure and reports it as its own
            pass
