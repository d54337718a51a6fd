"""Outputs with an owner: one process at a time writes a screen, a run folder, a campaign or a study.

``owned(output, what)`` holds ``output`` for this process while its block runs. Another process
that asks for the same output gets ``OutputInUseError``, one line naming the output and the
process holding it (pid, host, since when), instead of two writers mixing their results.

The claim is a lease (``filelock.SoftFileLease``) in ``.<name>.lock`` beside the output, which
a thread of the holder refreshes every third of the lease, and ``.<name>.owner`` beside it says
who holds it; both go when the block ends. A claim left by a process that died (``kill -9``,
a lost node) is taken over, so a resume needs no manual cleanup:

- on the same host, at once, when the recorded process no longer runs (a pid that another
  process reuses is told apart by its start time);
- from another host, once its heartbeat has stopped for the lease, ``$MOLGNN_OWNER_LEASE``
  seconds (default 60): a claimant finding another host's claim watches it for that long and
  takes it over if it was not refreshed, else refuses. Every process sharing the outputs must
  use the same lease.

The lease needs a file system that creates files atomically (local disks, NFS, Lustre); the
holder's clock does not matter, each claimant measures the lease on its own clock.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from filelock import LeaseSettingsMismatch, SoftFileLease, Timeout

from molgnn.atomic import atomic_write_text
from molgnn.errors import ConfigError, MolgnnError

LEASE_ENV = "MOLGNN_OWNER_LEASE"
DEFAULT_LEASE_SECONDS = 60.0


class OutputInUseError(MolgnnError, RuntimeError):
    """An output that another process is writing (or a claim on it lost while writing it)."""


@dataclass(frozen=True)
class Holder:
    """The process holding an output: its ``pid``, ``host`` name and the time it took the output (ISO 8601)."""

    pid: int
    host: str
    since: str

    @classmethod
    def this_process(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname(), datetime.now().astimezone().isoformat(timespec="seconds"))

    def runs_here(self) -> bool:
        """Whether the holder is a running process of this host."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process: it runs
            return True
        return True

    def __str__(self) -> str:
        return f"pid {self.pid} on host {self.host} since {self.since}"


def lease_seconds() -> float:
    """The lease of a claim: ``$MOLGNN_OWNER_LEASE`` seconds, default 60."""
    value = os.environ.get(LEASE_ENV, str(DEFAULT_LEASE_SECONDS))
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ConfigError(f"{LEASE_ENV}={value!r}: give the lease of output claims in seconds, a positive number")
    return seconds


@contextmanager
def owned(output: str | Path, what: str, shard: int = 0) -> Iterator[Holder]:
    """Hold ``output`` (a file or a folder, which need not exist yet) for this process while the block runs.

    Args:
        output: what this process is about to write.
        what: the kind of output, for messages (``"screen"``, ``"training run"``, ``"campaign"``, ...).
        shard: the part of the output this process writes, when several processes of one job
            write one output together (the ranks of a ``torchrun`` screen): each holds its own shard.

    Raises ``OutputInUseError`` if another process holds it (after watching a claim of another
    host for the lease, see the module's docstring), and, when the block ends, if the claim was
    lost meanwhile (its heartbeat could not be written for a whole lease and another process
    took it over).
    """
    output = Path(output).absolute()
    label = f"{what} {output}" + (f" (shard {shard})" if shard else "")
    stem = f".{output.name}" + (f".shard{shard}" if shard else "")
    output.parent.mkdir(parents=True, exist_ok=True)
    lease_duration = lease_seconds()
    lease = SoftFileLease(output.with_name(f"{stem}.lock"), lease_duration=lease_duration, is_singleton=False)
    record = output.with_name(f"{stem}.owner")
    try:
        _acquire(lease, record, label, lease_duration)
    except LeaseSettingsMismatch as error:
        raise ConfigError(f"{label}: {error} (set {LEASE_ENV} alike for every process)") from error
    holder = Holder.this_process()
    try:
        atomic_write_text(record, json.dumps(asdict(holder)))
        yield holder
    finally:
        record.unlink(missing_ok=True)  # before the lease: a successor's record must not be removed
        lost = lease.compromise
        lease.release()
    if lost is not None:
        raise OutputInUseError(f"{label}: this process ({holder}) lost its claim while writing ({lost.reason}); "
                               "another process may have written it too: check it, or write it again")


def _acquire(lease: SoftFileLease, record: Path, label: str, lease_duration: float) -> None:
    """Take the lease now if it is free or its holder died on this host; watch another host's claim for a lease."""
    try:
        lease.acquire(timeout=0)
        return
    except Timeout:
        holder = _holder(record, lease)
    if holder is not None and holder.runs_here():
        raise OutputInUseError(f"{label} is in use by {holder}: wait for that process to finish or stop it")
    print(f"{label} is claimed by {holder or 'a process'}; waiting up to {lease_duration:.0f} s for its heartbeat "
          "to take the claim over if that process is gone", file=sys.stderr)
    try:
        lease.acquire(timeout=1.5 * lease_duration)
    except Timeout:
        raise OutputInUseError(f"{label} is in use by {_holder(record, lease) or holder}: its heartbeat goes on; "
                               "wait for that process to finish or stop it") from None


def _holder(record: Path, lease: SoftFileLease) -> Holder | None:
    """Who holds the output: its record, else what the lease says (a holder between taking the lease and writing it)."""
    try:
        return Holder(**json.loads(record.read_text()))
    except (OSError, ValueError, TypeError):
        pass
    owner = lease.owner
    return None if owner is None else Holder(owner.pid, owner.hostname, "an unknown time")
