"""One learner of the distributed tests, started by ``torchrun``: ``python learner.py PLAN.json``.

The plan names the molecules (the first ``molecules`` rows of a MoleculeNet CSV) and the runs
to train one after the other in the same process group. ``kill`` makes the learner of that
rank kill itself with SIGKILL at its ``after_loss``-th training batch, once (a marker file
remembers it), as a crashed machine would. ``hier_probe`` records what Hier-AVG does to
parameters and buffers set to known values; ``turns_probe`` what ``Learners.in_turns`` does
when a turn takes too long, fails, or goes well.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from molgnn.data.build import dataset_from_inputs
from molgnn.distributed.averaging import HierarchicalAveraging
from molgnn.distributed.comm import AllReduceCount, counting_all_reduce
from molgnn.distributed.learners import TurnError, join, leave
from molgnn.featurize.molecule import MoleculeFeaturizer
from molgnn.train import trainer
from molgnn.train.config import TrainConfig


def arm_kill(kill: dict) -> None:
    marker = Path(kill["marker"])
    if marker.exists() or int(os.environ["RANK"]) != kill["rank"]:
        return
    real = trainer.masked_loss
    calls = []

    def loss_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == kill["after_loss"]:
            marker.write_text(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    trainer.masked_loss = loss_then_die


def hier_probe(out: Path) -> None:
    """Parameters and BatchNorm running means start at the rank; each step adds rank + 1 before averaging."""
    learners = join("hier")
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1))
    synchronizer = HierarchicalAveraging(learners, period=2, group_size=2, rounds=2)
    with torch.no_grad():
        model[0].weight.fill_(learners.rank)
        model[1].running_mean.fill_(learners.rank)
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    rows, count = [], AllReduceCount()
    with counting_all_reduce(count):
        for _ in range(4):
            with torch.no_grad():
                model[0].weight.add_(learners.rank + 1)
                model[1].running_mean.add_(learners.rank + 1)
            synchronizer.after_step(model)
            rows.append([model[0].weight.item(), model[1].running_mean.item()])
    out.joinpath(f"hier_rank{learners.rank}.json").write_text(json.dumps({"values": rows, "calls": count.calls}))


def turns_probe(out: Path) -> None:
    """Three rounds of turns: rank 0's outlasts the others' patience, then fails, then each learner logs its turn."""
    learners = join("ddp")
    seen = {}

    def slow():
        time.sleep(5 if learners.rank == 0 else 0)

    def failing():
        raise ValueError(f"rank {learners.rank} cannot")

    def logged():
        with (out / "turns.log").open("a") as log:
            log.write(f"start {learners.rank}\n")
        time.sleep(0.5)
        with (out / "turns.log").open("a") as log:
            log.write(f"end {learners.rank}\n")
        return learners.rank

    for name, produce, timeout in (("slow", slow, 2.0), ("failing", failing, 30.0), ("logged", logged, 30.0)):
        try:
            seen[name] = learners.in_turns(produce, f"the {name} probe", timeout)
        except (TurnError, ValueError) as error:
            seen[name] = f"{type(error).__name__}: {error}"
    out.joinpath(f"turns_rank{learners.rank}.json").write_text(json.dumps(seen))


def main(plan_path: str) -> None:
    torch.set_num_threads(1)
    plan = json.loads(Path(plan_path).read_text())
    if plan.get("kill"):
        arm_kill(plan["kill"])
    if plan.get("hier_probe"):
        hier_probe(Path(plan_path).parent)
    if plan.get("turns_probe"):
        turns_probe(Path(plan_path).parent)
    frame = pd.read_csv(plan["data"]).iloc[:plan["molecules"]]
    dataset = dataset_from_inputs(frame["smiles"].tolist(), frame.iloc[:, 1:].to_numpy(),
                                  MoleculeFeaturizer(fingerprint_bits=128), targets=list(frame.columns[1:]), name="sider")
    for run in plan["runs"]:
        trainer.train(dataset, run["dir"], TrainConfig(**run["config"]), progress=False)
    leave()


if __name__ == "__main__":
    main(sys.argv[1])
