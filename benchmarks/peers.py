"""Whether the outside references the benchmarks compare with can run here."""

from __future__ import annotations

import shutil
import subprocess
import sys

INSTALL = 'pip install -e ".[bench]"'


def chemprop_unavailable() -> str | None:
    """Why chemprop 2 (its package and its ``chemprop`` command) cannot run here, or None."""
    done = subprocess.run([sys.executable, "-c", "import chemprop, sys; sys.stdout.write(chemprop.__version__)"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"unavailable: {(done.stderr.strip().splitlines() or ['import failed'])[-1]} ({INSTALL})"
    if not done.stdout.startswith("2."):
        return f"unavailable: chemprop {done.stdout} installed, the benchmarks need 2.x ({INSTALL})"
    if shutil.which("chemprop") is None:
        return f"unavailable: no chemprop command on PATH ({INSTALL})"
    return None


def git_commit() -> str:
    """The commit of the checkout the benchmark runs from, marked when it has uncommitted changes."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return (done.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")
