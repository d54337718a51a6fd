"""Joining the learners: refused launches, two nodes on one machine, a killed worker, a job that shrinks."""

import json
import subprocess
import sys

import pytest

from molgnn.distributed.learners import LaunchError, join
from molgnn.train.config import TrainConfig
from tests.distributed.conftest import HYBRID, LEARNER, assert_same_weights, free_port, log, torchrun, write_plan
from tests.together import REPO


def test_a_distributed_mode_needs_torchrun_and_torchrun_needs_one(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(LaunchError, match="torchrun"):
        join("ddp")
    assert join("none", "cpu").size == 1
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "1")
    with pytest.raises(LaunchError, match="distributed='none'"):
        join("none")
    with pytest.raises(ValueError, match="distributed must be one of"):
        TrainConfig(distributed="horovod")


def test_several_nodes_with_restarts_need_a_fresh_store_per_attempt(monkeypatch):
    for name, value in {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1",
                        "TORCHELASTIC_USE_AGENT_STORE": "True", "TORCHELASTIC_MAX_RESTARTS": "3",
                        "GROUP_WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(LaunchError, match="TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1"):
        join("ddp")


@pytest.mark.multiprocess
@pytest.mark.slow
def test_two_nodes_on_one_machine_train_together(two_learners, tmp_path, data_dir):
    plan = write_plan(tmp_path, data_dir, {"ddp": {**HYBRID, "distributed": "ddp"}})
    port = str(free_port())
    nodes = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node-rank", str(rank),
                               "--nproc-per-node", "1", "--master-addr", "127.0.0.1", "--master-port", port,
                               str(LEARNER), str(plan)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rank in (0, 1)]
    for node in nodes:
        _, err = node.communicate(timeout=600)
        assert node.returncode == 0, err[-3000:]
    assert [row["learners"] for row in log(tmp_path / "ddp")] == [2, 2, 2]
    assert_same_weights(tmp_path / "ddp", two_learners / "ddp")


def killing_plan(folder, data_dir):
    """A DDP run whose learner 1 dies at its 6th training batch (4 steps per epoch: in the middle of epoch 2)."""
    return write_plan(folder, data_dir, {"ddp": {**HYBRID, "distributed": "ddp"}},
                      kill={"rank": 1, "after_loss": 6, "marker": str(folder / "killed")})


@pytest.mark.multiprocess
@pytest.mark.slow
def test_killed_worker_restarts_from_the_last_epoch(two_learners, tmp_path, data_dir):
    plan = killing_plan(tmp_path, data_dir)
    endpoint = f"127.0.0.1:{free_port()}"
    torchrun(plan, "--nnodes", "1:2", "--nproc-per-node", "2", "--max-restarts", "1", "--rdzv-backend", "c10d",
             "--rdzv-endpoint", endpoint, "--rdzv-conf", "last_call_timeout=1")
    assert (tmp_path / "killed").read_text() == "0"  # killed in the first attempt, finished in the second
    rows = log(tmp_path / "ddp")
    assert [row["epoch"] for row in rows] == [1, 2, 3] and [row["steps"] for row in rows] == [4, 8, 12]
    assert_same_weights(tmp_path / "ddp", two_learners / "ddp")


@pytest.mark.multiprocess
@pytest.mark.slow
def test_a_job_can_continue_with_fewer_learners(two_learners, tmp_path, data_dir):
    plan = killing_plan(tmp_path, data_dir)
    failed = torchrun(plan, "--nproc-per-node", "2", "--max-restarts", "0", check=False)
    assert failed.returncode != 0 and [row["epoch"] for row in log(tmp_path / "ddp")] == [1]
    torchrun(plan, "--nproc-per-node", "1")
    rows = log(tmp_path / "ddp")
    assert [row["epoch"] for row in rows] == [1, 2, 3] and [row["learners"] for row in rows] == [2, 1, 1]
    assert_same_weights(tmp_path / "ddp", two_learners / "ddp")  # DDP with a fixed global batch does not depend on P


@pytest.mark.multiprocess
@pytest.mark.slow
def test_turns_run_rank_0_first_and_a_late_or_failed_turn_is_named(tmp_path, data_dir):
    torchrun(write_plan(tmp_path, data_dir, {}, turns_probe=True), "--nproc-per-node", "2")
    rank0, rank1 = (json.loads((tmp_path / f"turns_rank{rank}.json").read_text()) for rank in (0, 1))
    assert rank1["slow"].startswith("TurnError: rank 1: waited 2 s in vain for rank 0 (the slow probe), the limit being 2 s")
    assert rank0["failing"] == "ValueError: rank 0 cannot"
    assert rank1["failing"] == "TurnError: rank 1: rank 0 failed (the failing probe); the error of that learner says why"
    assert (rank0["logged"], rank1["logged"]) == (0, 1)
    assert (tmp_path / "turns.log").read_text().split("\n") == ["start 0", "end 0", "start 1", "end 1", ""]


@pytest.mark.multiprocess
@pytest.mark.slow
def test_torchrun_trains_on_an_empty_cache(tmp_path, data_dir):
    """The learners of a job on a cold cache: rank 0 builds it (4 chunks) while rank 1 waits, then both train."""
    cache, run = tmp_path / "cache", tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m",
                           "molgnn", "train", "hmof100", "--data-dir", str(data_dir), "--cache-dir", str(cache),
                           "--workers", "1", "--model", "cgcnn", "--model-args", '{"hidden": 8, "layers": 1}',
                           "--epochs", "1", "--distributed", "ddp", "--out", str(run)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [row["learners"] for row in log(run)] == [2] and (run / "metrics.json").exists()
    [entry] = [path for path in (cache / "hmof100").iterdir() if path.is_dir()]
    assert sorted(path.name for path in entry.iterdir()) == ["graphs.pt", "meta.json", "rejects.csv"]
