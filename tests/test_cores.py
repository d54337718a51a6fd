import os
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from molgnn import cores
from molgnn.data.build import dataset_from_inputs
from molgnn.errors import ConfigError
from molgnn.featurize.molecule import MoleculeFeaturizer
from molgnn.train import trainer
from molgnn.train.config import TrainConfig
from tests.together import REPO


@pytest.fixture
def no_budget(monkeypatch):
    for name in ("MOLGNN_THREADS", "OMP_NUM_THREADS", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)


def _in_a_process_on_one_core(code: str, **env) -> str:
    """``code``'s output in a Python process pinned to one core (as ``taskset -c 0`` would)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("MOLGNN_THREADS", "OMP_NUM_THREADS", "LOCAL_WORLD_SIZE")}
    script = f"import os; os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})\n{code}"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO,
                          env={**environment, **env}).stdout


def test_cgroup_quotas_of_both_versions_round_up_to_whole_cores(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cores.cgroup_cpu_quota(tmp_path) == 2
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cores.cgroup_cpu_quota(tmp_path) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cores.cgroup_cpu_quota(v1) == 1
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cores.cgroup_cpu_quota(v1) is None
    assert cores.cgroup_cpu_quota(tmp_path / "missing") is None


def test_the_budget_follows_the_affinity_of_the_process():
    assert _in_a_process_on_one_core("from molgnn.cores import plan; print(plan())").strip() == \
        "CorePlan(budget=1, workers=1, main_threads=1)"
    # torch's own default ignores the affinity; training within the policy does not
    out = _in_a_process_on_one_core("import torch; from molgnn.cores import plan, torch_threads\n"
                                    "with torch_threads(plan(0).main_threads): print(torch.get_num_threads())")
    assert out.strip() == "1"


def test_explicit_threads_then_molgnn_threads_then_the_cores(no_budget, monkeypatch):
    available = cores.available_cores()
    assert available <= len(os.sched_getaffinity(0))
    assert cores.core_budget() == available
    assert cores.core_budget(3) == 3
    monkeypatch.setenv("MOLGNN_THREADS", "5")
    assert cores.core_budget() == 5 and cores.core_budget(2) == 2
    monkeypatch.delenv("MOLGNN_THREADS")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(available + 1))  # more torchrun processes than cores: one each
    assert cores.core_budget() == 1


@pytest.mark.parametrize("variable, value", [("MOLGNN_THREADS", "0"), ("MOLGNN_THREADS", "two"), ("OMP_NUM_THREADS", "-1")])
def test_a_bad_thread_setting_is_a_config_error_naming_it(no_budget, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        cores.plan(0)


def test_workers_and_main_threads_stay_within_the_budget(no_budget, monkeypatch):
    assert cores.plan(None, threads=4) == cores.CorePlan(4, 4, 1)
    assert cores.plan(1, threads=4) == cores.CorePlan(4, 1, 3)
    assert cores.plan(0, threads=4) == cores.CorePlan(4, 0, 4)
    with pytest.warns(UserWarning, match="6 worker processes asked for, 2 cores available: using 2"):
        assert cores.plan(6, threads=2) == cores.CorePlan(2, 2, 1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # one thread per process, as torchrun sets it
    assert cores.plan(0, threads=4) == cores.CorePlan(4, 0, 1)
    with pytest.raises(ConfigError, match="workers"):
        cores.plan(-1)
    with pytest.raises(ConfigError, match="threads"):
        cores.plan(0, threads=0)


class CountThreads(trainer.Callback):
    def __init__(self):
        self.seen = set()

    def on_epoch_start(self, training, epoch):
        self.seen.add(torch.get_num_threads())


@pytest.fixture
def sider48(data_dir):
    frame = pd.read_csv(data_dir / "molnet" / "sider.csv").iloc[:48]
    return dataset_from_inputs(frame["smiles"].tolist(), frame.iloc[:, 1:].to_numpy(), MoleculeFeaturizer(),
                               targets=list(frame.columns[1:]), name="sider48")


GINE = TrainConfig(model="gine", model_args={"hidden": 16, "layers": 1}, epochs=2, batch_size=16, seed=0)


def test_training_runs_on_its_budget_and_restores_the_threads_after(sider48, tmp_path, no_budget, monkeypatch):
    monkeypatch.setattr(cores, "other_runnable", lambda: 0.0)  # an idle machine
    dataset, config = sider48, GINE
    before = torch.get_num_threads()
    counted = CountThreads()
    trainer.train(dataset, tmp_path / "one", config, progress=False, callbacks=[counted], threads=1)
    assert counted.seen == {1} and torch.get_num_threads() == before
    counted = CountThreads()
    trainer.train(dataset, tmp_path / "all", config, progress=False, callbacks=[counted])
    assert counted.seen == {min(cores.available_cores(), before)} and torch.get_num_threads() == before


def test_training_keeps_a_process_set_to_one_thread_on_one(sider48, tmp_path, no_budget):
    """A worker process given one thread (forked after its parent ran torch) must not start a thread pool."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        counted = CountThreads()
        trainer.train(sider48, tmp_path / "run", GINE, progress=False, callbacks=[counted])
        assert counted.seen == {1}
    finally:
        torch.set_num_threads(before)


@pytest.mark.multiprocess
def test_training_leaves_the_cores_that_busy_processes_hold(sider48, tmp_path, no_budget):
    """One busy process per core but one: every epoch trains on one thread, and the threads come back after."""
    before = torch.get_num_threads()
    budget = min(cores.available_cores(), before)
    if budget < 2:
        pytest.skip(f"needs 2 cores for this process to leave one, it may use {budget}")
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(budget)]
    try:
        deadline = time.monotonic() + 30
        while cores.other_runnable() < budget - 0.5 and time.monotonic() < deadline:  # until they run
            time.sleep(0.05)
        assert cores.uncontended(budget) == 1
        counted = CountThreads()
        trainer.train(sider48, tmp_path / "run", GINE, progress=False, callbacks=[counted])
        assert counted.seen == {1}
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert torch.get_num_threads() == before
