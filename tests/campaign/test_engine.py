"""Campaigns end to end: Colmena steering, Parsl processes, the real ESOL pool, the lookup and function oracles."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from molgnn.campaign import CampaignConfig, CampaignError, run_campaign
from molgnn.campaign.report import history_frame
from molgnn.campaign.state import CampaignState, CampaignStateError
from molgnn.errors import ConfigError
from molgnn.ownership import OutputInUseError

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]


def calls_to_best(folder, truth_csv) -> int:
    best = pd.read_csv(truth_csv, dtype={"id": str}).sort_values("logS").iloc[-1]["id"]
    history = history_frame(folder)
    found = history.index[history["candidate"] == best]
    return int(history["call"][found[0]]) if len(found) else len(history) + 1


def test_the_surrogate_finds_the_best_candidate_before_random_does(esol_config, esol, esol_cache, tmp_path):
    steered = run_campaign(esol_config, tmp_path / "ucb", cache_dir=esol_cache, progress=False)
    control = run_campaign({**esol_config, "acquisition": "random"}, tmp_path / "random", cache_dir=esol_cache,
                           progress=False)
    assert steered["status"] == {"ok": 30} and control["status"] == {"ok": 30}
    assert calls_to_best(tmp_path / "ucb", esol / "truth.csv") < calls_to_best(tmp_path / "random", esol / "truth.csv")
    assert steered["top_set"]["found"] > control["top_set"]["found"]
    history = history_frame(tmp_path / "ucb")
    # batch 0 is random; version 1 (trained on it) picks batches 1 and 2, version v >= 2 picks batch v + 1
    assert history.groupby("batch")["surrogate"].first().fillna(0).astype(int).tolist() == [0, 1, 1, 2, 3]
    assert history["surrogate"].isna().sum() == 10 and history["score"].notna().sum() == 20
    assert (tmp_path / "ucb" / "discovery.png").stat().st_size > 0
    assert json.loads((tmp_path / "ucb" / "summary.json").read_text())["best"]["value"] == history["value"].max()


def oracle_module(folder, body: str):
    (folder / "slow_oracle.py").write_text(textwrap.dedent(body))
    return folder


SLOW_ORACLE = """
    import os, time
    import pandas as pd

    TRUTH = dict(pd.read_csv(os.environ["ESOL_TRUTH"], dtype={"id": str}).values)

    def logs(source, candidate):
        with open(os.environ["ORACLE_CALLS"], "a") as calls:
            calls.write(candidate + "\\n")
        if candidate == os.environ.get("ORACLE_FAILS"):
            raise RuntimeError("the simulation did not converge")
        if candidate == os.environ.get("ORACLE_CRASHES"):
            os._exit(3)  # the worker process dies, as with a segmentation fault
        time.sleep(30 if candidate == os.environ.get("ORACLE_HANGS") else 0.15)
        return TRUTH[candidate]
"""


@pytest.fixture
def slow_oracle(tmp_path, esol, monkeypatch):
    """A function oracle (``slow_oracle:logs``) importable by the Parsl workers, logging every call it starts."""
    oracle_module(tmp_path, SLOW_ORACLE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("ESOL_TRUTH", str(esol / "truth.csv"))
    monkeypatch.setenv("ORACLE_CALLS", str(tmp_path / "calls.txt"))
    return {"kind": "function", "function": "slow_oracle:logs"}


def test_a_killed_campaign_resumes_with_the_same_queries_and_no_lost_call(esol_config, esol_cache, slow_oracle, tmp_path):
    config = {**esol_config, "oracle": slow_oracle, "budget": 25}
    config_file = tmp_path / "campaign.json"
    config_file.write_text(json.dumps(config))
    command = [sys.executable, "-m", "molgnn", "campaign", str(config_file), "--out", str(tmp_path / "killed"),
               "--cache-dir", str(esol_cache)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    log = tmp_path / "killed" / "queries.jsonl"
    deadline = time.monotonic() + 300
    while not (log.exists() and log.read_text().count('"result"') >= 12):
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no results"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the campaign, its task server and its Parsl workers
    process.wait()
    started_before_kill = len((tmp_path / "calls.txt").read_text().split())
    assert started_before_kill < 25
    resumed = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["status"] == {"ok": 25}
    calls = (tmp_path / "calls.txt").read_text().split()
    repeated = len(calls) - len(set(calls))
    assert len(set(calls)) == 25 and repeated <= 1  # only a call cut off by the kill (one worker) runs again
    run_campaign(config, tmp_path / "whole", cache_dir=esol_cache, progress=False)
    killed, whole = history_frame(tmp_path / "killed"), history_frame(tmp_path / "whole")
    assert killed["candidate"].tolist() == whole["candidate"].tolist()
    assert killed["value"].tolist() == whole["value"].tolist()


def test_failed_and_timed_out_simulations_are_recorded_and_the_campaign_goes_on(esol_config, esol_cache, slow_oracle,
                                                                                 tmp_path, monkeypatch):
    monkeypatch.setenv("ORACLE_FAILS", "3")
    monkeypatch.setenv("ORACLE_HANGS", "5")
    monkeypatch.setenv("ORACLE_CRASHES", "7")
    config = {**esol_config, "oracle": slow_oracle, "initial": ["3", "5", "7", "11", "13", "17"], "budget": 16,
              "oracle_seconds": 2.0, "workers": 2}
    summary = run_campaign(config, tmp_path / "run", cache_dir=esol_cache, progress=False)
    assert summary["status"] == {"ok": 13, "failed": 2, "timeout": 1}
    history = history_frame(tmp_path / "run").set_index("candidate")
    assert "RuntimeError: the simulation did not converge" in history.loc["3", "reason"]
    # a worker that dies fails its own candidate only; a new worker runs the rest
    assert "task failure" in history.loc["7", "reason"] and "died while running the task: exit code 3" in history.loc["7", "reason"]
    assert len(set((tmp_path / "calls.txt").read_text().split())) == 16
    assert history.loc["5", "status"] == "timeout" and "took more than 2 s" in history.loc["5", "reason"]
    assert history.loc["5", "seconds"] < 10


def test_a_gnn_ensemble_surrogate_trains_run_folders_and_picks_by_thompson(esol_config, esol_cache, tmp_path):
    config = {**esol_config, "acquisition": "thompson", "budget": 20, "initial": 12, "batch_size": 4,
              "featurizer": {"descriptors": "rdkit2d", "fingerprint_bits": 256},
              "surrogate": {"kind": "ensemble", "model": "hybrid_descriptors", "members": 2,
                            "config": {"epochs": 3, "batch_size": 8,
                                       "model_args": {"hidden": 16, "fp_hidden": 16, "descriptor_hidden": 16}}}}
    summary = run_campaign(config, tmp_path / "gnn", cache_dir=esol_cache, progress=False)
    assert summary["status"] == {"ok": 20} and summary["surrogate"] == "ensemble"
    members = sorted(p.parent.name for p in (tmp_path / "gnn" / "surrogates" / "v1").glob("member*/weights.pt"))
    assert members == ["member0", "member1"]
    assert history_frame(tmp_path / "gnn")["surrogate"].dropna().astype(int).tolist() == [1] * 8


def test_a_campaign_folder_refuses_another_config_and_a_bad_config_fails_before_any_call(esol_config, esol_cache, tmp_path):
    CampaignState(tmp_path / "run", CampaignConfig.from_dict(esol_config).to_dict())
    with pytest.raises(CampaignStateError, match="another config"):
        run_campaign({**esol_config, "budget": 12}, tmp_path / "run", cache_dir=esol_cache, progress=False)
    with pytest.raises(ConfigError, match="no column 'solubility'"):
        run_campaign({**esol_config, "oracle": {**esol_config["oracle"], "column": "solubility"}}, tmp_path / "bad",
                     cache_dir=esol_cache, progress=False)
    with pytest.raises(ConfigError, match="global descriptors"):
        run_campaign({**esol_config, "featurizer": {}}, tmp_path / "plain", cache_dir=esol_cache, progress=False)
    assert not (tmp_path / "bad" / "queries.jsonl").exists()


HOLD = """
import sys, time
from molgnn.ownership import owned
with owned(sys.argv[1], "campaign"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_campaign_folder_that_another_process_runs_is_refused_with_that_process(esol_config, esol_cache, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputInUseError, match=f"campaign .*run is in use by pid {holder.pid} on host"):
            run_campaign(esol_config, tmp_path / "run", cache_dir=esol_cache, progress=False)
        assert not (tmp_path / "run" / "queries.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()


def test_every_initial_failure_ends_the_campaign_with_the_reason(esol_config, esol_cache, slow_oracle, tmp_path, monkeypatch):
    monkeypatch.setenv("ORACLE_FAILS", "3")
    with pytest.raises(CampaignError, match="every simulation so far failed"):
        run_campaign({**esol_config, "oracle": slow_oracle, "initial": ["3"]}, tmp_path / "run", cache_dir=esol_cache,
                     progress=False)
    assert history_frame(tmp_path / "run")["status"].tolist() == ["failed"]


def test_a_parsl_config_file_replaces_the_local_executors(esol_config, esol_cache, tmp_path):
    parsl_file = tmp_path / "threads.py"
    parsl_file.write_text(textwrap.dedent("""
        from parsl.config import Config
        from parsl.executors import ThreadPoolExecutor

        config = Config(executors=[ThreadPoolExecutor(label="simulation", max_threads=2),
                                   ThreadPoolExecutor(label="learning", max_threads=1)])
    """))
    summary = run_campaign({**esol_config, "budget": 15, "parsl_config": str(parsl_file)}, tmp_path / "run",
                           cache_dir=esol_cache, progress=False)
    assert summary["status"] == {"ok": 15} and (tmp_path / "run" / "parsl").is_dir()  # Parsl's run_dir, not ./runinfo
    parsl_file.write_text(parsl_file.read_text().replace('"learning"', '"training"'))
    with pytest.raises(ConfigError, match=r"executors labelled \('simulation', 'learning'\), found \['simulation', 'training'\]"):
        run_campaign({**esol_config, "parsl_config": str(parsl_file)}, tmp_path / "other", cache_dir=esol_cache,
                     progress=False)
