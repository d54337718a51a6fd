"""The campaign's local Parsl executor: Parsl apps on a Pebble process pool, one thread per worker."""

import os

import parsl
import pytest
from parsl.config import Config

from molgnn.campaign.executor import LocalProcessExecutor, WorkerDiedError
from molgnn.campaign.tasks import warm_oracle

pytestmark = pytest.mark.multiprocess


@parsl.python_app(executors=["local"])
def worker_facts() -> dict:
    import os
    import sys

    return {"pid": os.getpid(), "threads": os.environ["OMP_NUM_THREADS"], "warm": "molgnn.chem.host_guest" in sys.modules}


@parsl.python_app(executors=["local"])
def die(how: str):
    import os
    import signal

    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(5)


@parsl.python_app(executors=["local"])
def fail():
    raise ValueError("no value for this candidate")


def test_apps_run_in_one_thread_workers_and_a_dead_worker_fails_only_its_task(tmp_path):
    executor = LocalProcessExecutor("local", workers=1, warm=warm_oracle, warm_args=({"kind": "henry"},))  # imports the Widom code
    config = Config(executors=[executor], run_dir=str(tmp_path), strategy="none", initialize_logging=False)
    with parsl.load(config):
        first = worker_facts().result(timeout=60)
        assert first["threads"] == "1" and first["warm"] and first["pid"] != os.getpid()
        with pytest.raises(WorkerDiedError, match=r"local worker process \(pid \d+\) died while running the task: killed by SIGKILL"):
            die("kill").result(timeout=60)
        with pytest.raises(WorkerDiedError, match="exit code 5"):
            die("exit").result(timeout=60)
        with pytest.raises(ValueError, match="no value for this candidate"):
            fail().result(timeout=60)
        after = worker_facts().result(timeout=60)
        assert after["pid"] not in (first["pid"], os.getpid()) and after["threads"] == "1" and after["warm"]  # a new worker


@parsl.python_app(executors=["local"])
def note_exit(path: str) -> int:
    import atexit
    import os
    from pathlib import Path

    atexit.register(Path(path).write_text, "exit handlers ran")
    return os.getpid()


def test_idle_workers_run_their_exit_handlers_at_shutdown(tmp_path):
    # an idle worker ends without the interpreter's teardown, but after the exit handlers that release what it holds
    executor = LocalProcessExecutor("local", workers=1)
    config = Config(executors=[executor], run_dir=str(tmp_path), strategy="none", initialize_logging=False)
    with parsl.load(config):
        pid = note_exit(str(tmp_path / "exited")).result(timeout=60)
    assert (tmp_path / "exited").read_text() == "exit handlers ran"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
