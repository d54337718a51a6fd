"""Launching real ``torchrun`` jobs of ``learner.py`` (gloo on CPU) and reading what they wrote."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

LEARNER = Path(__file__).with_name("learner.py")
# 80 sider molecules: 64 for training (4 global batches of 16), 9 for validation (odd: padding), 7 for test.
HYBRID = {"model": "hybrid", "model_args": {"hidden": 16, "fp_hidden": 16}, "epochs": 3, "batch_size": 16, "seed": 1,
          "patience": 50, "split_fractions": [0.8, 0.1125, 0.0875]}
GINE = {**HYBRID, "model": "gine", "model_args": {"hidden": 16, "layers": 2}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_plan(folder: Path, data_dir: Path, runs: dict[str, dict], name: str = "plan.json", **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    plan = {"data": str(data_dir / "molnet" / "sider.csv"), "molecules": 80,
            "runs": [{"dir": str(folder / run), "config": config} for run, config in runs.items()], **extra}
    path = folder / name
    path.write_text(json.dumps(plan))
    return path


def torchrun(plan: Path, *launch: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    """``torchrun LAUNCH... learner.py PLAN``; a single-node job unless ``launch`` says otherwise."""
    if not any(word.startswith(("--nnodes", "--rdzv", "--master")) for word in launch):
        launch = ("--standalone", *launch)
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", *launch, str(LEARNER), str(plan)],
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def final_weights(run: Path) -> dict:
    return torch.load(run / "last.pt", map_location="cpu", weights_only=True)["model"]


def assert_same_weights(first: Path, second: Path, atol: float = 1e-5) -> None:
    a, b = final_weights(first), final_weights(second)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=1e-4, msg=f"{key} differs between {first} and {second}")


def log(run: Path) -> list[dict]:
    return json.loads((run / "log.json").read_text())


@pytest.fixture(scope="session")
def two_learners(tmp_path_factory, data_dir) -> Path:
    """One 2-learner job training several runs: DDP, K-AVG, MAVG on the same 64 training molecules."""
    folder = tmp_path_factory.mktemp("two_learners")
    sgd = {"optimizer": "sgd", "lr": 0.05, "grad_clip": 0.0}
    runs = {"ddp": {**HYBRID, "distributed": "ddp"},
            "ddp_sgd": {**HYBRID, **sgd, "distributed": "ddp"},
            "kavg1_sgd": {**HYBRID, **sgd, "distributed": "kavg", "average_every": 1},
            "kavg2": {**GINE, "distributed": "kavg", "average_every": 2},
            "mavg0": {**GINE, "distributed": "mavg", "average_every": 2, "block_momentum": 0.0},
            "mavg": {**GINE, "distributed": "mavg", "average_every": 2, "block_momentum": 0.5}}
    torchrun(write_plan(folder, data_dir, runs), "--nproc-per-node", "2")
    return folder
