"""Processes that start a ``molgnn`` command together, to race for the same cache entry or output.

``python -m tests.together GO COMMAND...`` imports molgnn, writes ``GO.ready-<pid>``, waits for
the file GO and then runs ``molgnn COMMAND...`` in the same process. ``run_together`` starts
several, creates GO once all are ready and collects them: their commands start within
milliseconds of each other, which processes that each import torch first would hardly do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_together(commands: list[list[str]], go: Path, timeout: float = 600) -> list[subprocess.CompletedProcess]:
    """Run each of ``commands`` (arguments of ``molgnn``) in its own process, all starting at once."""
    processes = [subprocess.Popen([sys.executable, "-m", "tests.together", str(go), *map(str, command)], cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for command in commands]
    deadline = time.monotonic() + timeout
    try:
        while len(list(go.parent.glob(f"{go.name}.ready-*"))) < len(processes):
            assert all(process.poll() is None for process in processes), [p.communicate()[1][-2000:] for p in processes]
            assert time.monotonic() < deadline, "the processes did not get ready"
            time.sleep(0.05)
        go.touch()
        results = []
        for process, command in zip(processes, commands):
            out, err = process.communicate(timeout=max(deadline - time.monotonic(), 1))
            results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


if __name__ == "__main__":
    from molgnn.cli import main

    go = Path(sys.argv[1])
    go.with_name(f"{go.name}.ready-{os.getpid()}").touch()
    waited = time.monotonic()
    while not go.exists():
        if time.monotonic() - waited > 600:
            sys.exit(f"{go} was not created in 600 s")
        time.sleep(0.01)
    sys.exit(main(sys.argv[2:]))
