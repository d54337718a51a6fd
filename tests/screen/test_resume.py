"""A screen killed mid-run resumes to the same table; torchrun ranks screen shards merged into one table."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

from molgnn.screen import screen
from tests.screen.conftest import assert_same_tables


def _command(runs, library, out, *extra):
    return [sys.executable, "-m", "molgnn", "screen", *map(str, runs), str(library), "--out", str(out),
            "--no-progress", *extra]


ROWS = 480


@pytest.fixture
def sider_library(tmp_path, sider):
    path = tmp_path / "sider.csv"
    sider[["smiles"]].head(ROWS).to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.multiprocess
def test_a_second_screen_is_refused_and_a_killed_screen_resumes_to_the_uninterrupted_table(tmp_path, molecule_runs,
                                                                                          sider_library):
    out = tmp_path / "killed.parquet"
    parts = tmp_path / "killed.parquet.parts"
    args = ("--chunk-size", "8", "--workers", "1")
    process = subprocess.Popen(_command(molecule_runs[:1], sider_library, out, *args), start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not (parts.exists() and list(parts.glob("part-*.parquet"))):
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGSTOP)  # held still (as a pre-empted job), so that it runs until it is killed
    second = subprocess.run(_command(molecule_runs[:1], sider_library, out, *args), capture_output=True, text=True,
                            timeout=600)
    assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr[-2000:]
    assert f"screen {out} is in use by pid {process.pid} on host {socket.gethostname()} since " in second.stderr
    os.killpg(process.pid, signal.SIGKILL)  # the screen and its worker, as a crash or a pre-emption would
    process.wait()
    landed = len(list(parts.glob("part-*.parquet")))
    assert not out.exists() and 0 < landed < ROWS // 8 and (tmp_path / ".killed.parquet.lock").exists()

    done = subprocess.run(_command(molecule_runs[:1], sider_library, out, *args, "--json"), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["resumed"] >= 8 * landed and summary["records"] == ROWS
    reference = screen(molecule_runs[0], sider_library, tmp_path / "reference.parquet", chunk_size=8, workers=0,
                       progress=False)
    resumed = pd.read_parquet(out)
    assert resumed["index"].is_unique and resumed["index"].tolist() == list(range(ROWS))
    assert_same_tables(resumed, reference.table())
    assert not list(tmp_path.glob(".killed.parquet*"))  # the claim went with the screen


@pytest.mark.slow
@pytest.mark.multiprocess
def test_torchrun_ranks_screen_their_shards_into_one_table(tmp_path, molecule_runs, sider_library):
    out = tmp_path / "sharded.csv"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "molgnn",
               "screen", *map(str, molecule_runs), str(sider_library), "--out", str(out), "--no-progress",
               "--chunk-size", "50", "--workers", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    reference = screen(molecule_runs, sider_library, tmp_path / "single.csv", chunk_size=50, workers=0, progress=False)
    sharded = pd.read_csv(out, keep_default_na=False, na_values=[""], dtype={"id": str, "source": str, "reason": str})
    assert sharded["index"].tolist() == list(range(ROWS))
    assert_same_tables(sharded, reference.table())
