"""Outputs with an owner: a second process is refused with the holder named; a dead holder's claim is taken over."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from molgnn.errors import ConfigError
from molgnn.ownership import LEASE_ENV, OutputInUseError, owned
from tests.together import REPO

HOLD = "import sys, time\nfrom molgnn.ownership import owned\nwith owned(sys.argv[1], 'campaign'):\n" \
       "    print('held', flush=True)\n    time.sleep(600)\n"


def start_holder(output, *prefix, env=None):
    """A real process holding ``output`` (as a campaign) until it is killed; returns once it holds it."""
    process = subprocess.Popen([*prefix, sys.executable, "-c", HOLD, str(output)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    assert line == "held\n", process.communicate()[1][-2000:]
    return process


def kill(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate()


def test_this_process_cannot_hold_an_output_twice(tmp_path):
    out = tmp_path / "study"
    with owned(out, "tuning study") as holder:
        assert holder.pid == os.getpid() and (tmp_path / ".study.owner").exists()
        with pytest.raises(OutputInUseError, match=f"tuning study {out} is in use by pid {os.getpid()} on host "):
            with owned(out, "tuning study"):
                pass
    assert not list(tmp_path.iterdir())  # the lease and the record go with the block
    with owned(out, "tuning study"):  # and the output can be held again
        pass


def test_a_bad_lease_setting_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(LEASE_ENV, "soon")
    with pytest.raises(ConfigError, match=f"{LEASE_ENV}='soon'"):
        with owned(tmp_path / "x", "campaign"):
            pass


@pytest.mark.multiprocess
def test_another_process_is_refused_until_it_is_killed(tmp_path):
    out = tmp_path / "campaign"
    holder = start_holder(out)
    try:
        with pytest.raises(OutputInUseError) as refused:
            with owned(out, "campaign"):
                pass
        message = str(refused.value)
        assert f"campaign {out} is in use by pid {holder.pid} on host {socket.gethostname()} since 20" in message
        assert "\n" not in message
    finally:
        kill(holder)
    with owned(out, "campaign") as taken:  # kill -9 left the claim behind: its pid is dead, so it is taken over
        assert taken.pid == os.getpid()


@pytest.mark.multiprocess
@pytest.mark.slow
def test_a_claim_of_another_host_is_taken_over_once_its_heartbeat_stops(tmp_path, monkeypatch):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to run a process under another host name")
    monkeypatch.setenv(LEASE_ENV, "2")
    other_host = ["unshare", "--uts", "sh", "-c", 'hostname elsewhere && exec "$@"', "sh"]
    out = tmp_path / "campaign"
    holder = start_holder(out, *other_host, env=os.environ)
    try:
        started = time.monotonic()
        with pytest.raises(OutputInUseError, match=f"in use by pid {holder.pid} on host elsewhere .*heartbeat goes on"):
            with owned(out, "campaign"):
                pass
        assert time.monotonic() - started >= 2  # watched the claim for a lease before refusing
    finally:
        kill(holder)  # as a lost node: the claim stays, its heartbeat stops
    started = time.monotonic()
    with owned(out, "campaign") as taken:
        assert taken.pid == os.getpid() and time.monotonic() - started >= 2
