"""Distributed training: what each mode communicates, how long an epoch takes, and how well it learns.

What is compared with what. The same training loop (``molgnn.train.trainer.train``) runs under
``torchrun`` on CPU with gloo, one torch thread per learner:

- 1 learner (``ddp`` with one process: the one-process reference, same data order and global batch),
- 2 learners with PyTorch's ``DistributedDataParallel`` (``ddp``, the peer every other mode is
  measured against), K-AVG with K = 4 and K = 16, MAVG (K = 4, block momentum 0.5),
- 4 learners with Hier-AVG (groups of 2, K = 4, global every 4 group averages). This machine has 2
  cores, so its 4 learners share them: its bytes and calls are meaningful, its time is not.

on (1) crafted726 with CGCNN (CO2 uptake, 298 K, 1 bar; hidden 64, 3 convolutions, global batch
16) and (2) sider with the hybrid model (AttentiveFP + 2048-bit fingerprint MLP, defaults, global
batch 32); AdamW lr 1e-3, random split seed 0, the same number of epochs for all, so every run has
processed the same number of training samples when its validation metric is read: the best
epoch's (the weights a run keeps; single epochs of CGCNN are noisy on 69 validation structures)
and the last epoch's; the trainer's monitor, MAE over the target's standard deviation for
crafted726, mean ROC-AUC for sider.

Per run: median wall time per epoch over epochs 2.. (training, end-of-epoch synchronization and
validation, from ``log.json``), all-reduce calls and bytes per epoch of one learner (counted by
the trainer around ``torch.distributed.all_reduce``, which DDP's ``allreduce_hook`` and the model
averagers both call), and the validation metric. Goal: K-AVG with K = 16 sends >= 10x fewer bytes
per epoch than DDP at an equal or better validation metric.

Communication cost model. In the 2-learner job (and the 4-learner one) the learners time
``all_reduce`` of 1 KB .. 8 MB float32 tensors; the ring all-reduce model
``T(n, P) = 2 (P - 1) / P * n / bandwidth + 2 (P - 1) * latency`` is fitted to these times by least
squares. With it and each mode's measured calls and bytes per local step, the report gives the
communication time per 1000 local steps and the share of a step spent communicating at
P = 8 .. 1024 learners (weak scaling: every learner keeps the local batch of the measured run; its
compute time per step is the 1-learner run's epoch time scaled to that batch; no overlap of
communication and compute assumed, the physical floor for a ring is the bytes term alone; for
Hier-AVG one average in ``global_every`` spans all P learners and the others groups of S).

``--quick`` (CI smoke test): 96 structures and 160 molecules, 2 epochs, 5 timing repeats.
Run: ``python benchmarks/distributed.py [--quick] [--epochs N] [--data-dir DIR] [--work-dir DIR] [--out FILE.md]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIZES = [2 ** k for k in range(8, 22, 1)]  # float32 elements: 1 KB .. 8 MB
LEARNERS_PROJECTED = [8, 16, 32, 64, 128, 256, 512, 1024]
DATASETS = {
    "crafted726": {"model": "cgcnn", "model_args": {"hidden": 64, "layers": 3}, "batch_size": 16, "monitor": "mae"},
    "sider": {"model": "hybrid", "model_args": {}, "batch_size": 32, "monitor": "roc_auc"},
}
MODES = {  # name: (learners, config fields)
    "one": (1, {"distributed": "ddp"}),
    "ddp": (2, {"distributed": "ddp"}),
    "kavg4": (2, {"distributed": "kavg", "average_every": 4}),
    "kavg16": (2, {"distributed": "kavg", "average_every": 16}),
    "mavg": (2, {"distributed": "mavg", "average_every": 4, "block_momentum": 0.5}),
    "hier": (4, {"distributed": "hier", "average_every": 4, "group_size": 2, "global_every": 4}),
}


def default_data_dir() -> Path:
    return Path(os.environ.get("MOLGNN_DATA_DIR") or REPO.parent / "shared" / "data")


def load(name: str, data_dir: Path, cache_dir: Path, subset: int | None, workers: int = 1):
    """The dataset (from the cache once built), or a fixed random sample of ``subset`` records."""
    import torch

    from molgnn.data.build import load_dataset
    from molgnn.featurize.molecule import MoleculeFeaturizer

    featurizer = MoleculeFeaturizer(fingerprint_bits=2048) if name == "sider" else None
    dataset = load_dataset(name, data_dir=data_dir, featurizer=featurizer, cache_dir=cache_dir, workers=workers,
                           progress=False)
    if subset:
        dataset = dataset[torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:subset].sort().values]
    return dataset


# ------------------------------------------------------------------------------------------ learner

def learner(plan_path: Path) -> None:
    """One learner of a ``torchrun`` job: train the plan's runs, then time all-reduce for the cost model."""
    import torch
    import torch.distributed as dist

    from molgnn.distributed.learners import join, leave
    from molgnn.train.config import TrainConfig
    from molgnn.train.trainer import train

    torch.set_num_threads(1)
    plan = json.loads(plan_path.read_text())
    datasets = {}
    for run in plan["runs"]:
        name = run["dataset"]
        if name not in datasets:
            datasets[name] = load(name, Path(plan["data_dir"]), Path(plan["cache_dir"]), plan["subsets"].get(name))
        train(datasets[name], run["dir"], TrainConfig(**run["config"]), progress=False)
    learners = join("ddp")
    timings = {}
    for size in SIZES:
        tensor = torch.ones(size)
        durations = []
        for _ in range(plan["repeats"]):
            dist.barrier()
            started = time.perf_counter()
            dist.all_reduce(tensor)
            durations.append(time.perf_counter() - started)
        timings[size * 4] = statistics.median(durations)
    if learners.is_main:
        (plan_path.parent / f"allreduce_P{learners.size}.json").write_text(json.dumps(timings))
    leave()


def launch(work: Path, learners: int, runs: list[dict], args, subsets: dict) -> float:
    plan = {"runs": runs, "data_dir": str(args.data_dir), "cache_dir": str(work / "cache"), "subsets": subsets,
            "repeats": 5 if args.quick else 20}
    path = work / f"plan_P{learners}.json"
    path.write_text(json.dumps(plan))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(learners),
                           str(Path(__file__).resolve()), "--learner", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"torchrun with {learners} learners failed:\n{done.stderr[-4000:]}")
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------ figures

def run_figures(run_dir: Path, monitor: str) -> dict:
    log = json.loads((run_dir / "log.json").read_text())
    later = log[1:] or log
    steps = log[-1]["steps"] / len(log)
    return {"epochs": len(log), "learners": log[0]["learners"],
            "epoch_seconds": statistics.median(row["epoch_seconds"] for row in later),
            "allreduce_calls_per_epoch": statistics.median(row["allreduce_calls"] for row in later),
            "allreduce_bytes_per_epoch": statistics.median(row["allreduce_bytes"] for row in later),
            "steps_per_epoch": steps, f"val_{monitor}": log[-1][f"val_{monitor}"],
            f"best_val_{monitor}": (max if monitor == "roc_auc" else min)(row[f"val_{monitor}"] for row in log),
            "train_loss": log[-1]["train_loss"]}


def fit_ring(timings: dict[int, dict]) -> dict:
    """Least-squares ``latency`` and ``bandwidth`` of T = 2(P-1)/P n / bandwidth + 2(P-1) latency."""
    rows, times = [], []
    for learners, table in timings.items():
        for size, seconds in table.items():
            rows.append([2 * (learners - 1) / learners * float(size), 2 * (learners - 1)])
            times.append(seconds)
    (inverse_bandwidth, latency), *_ = np.linalg.lstsq(np.asarray(rows), np.asarray(times), rcond=None)
    predicted = np.asarray(rows) @ np.asarray([inverse_bandwidth, latency])
    relative = np.abs(predicted - np.asarray(times)) / np.asarray(times)
    return {"latency_s": float(latency), "bandwidth_bytes_per_s": float(1 / inverse_bandwidth),
            "median_relative_error": float(np.median(relative)), "points": len(times)}


def ring_seconds(calls: float, nbytes: float, learners: int, model: dict) -> float:
    return (2 * (learners - 1) / learners * nbytes / model["bandwidth_bytes_per_s"]
            + calls * 2 * (learners - 1) * model["latency_s"])


def projection(figures: dict, model: dict) -> dict:
    """Per mode and P: communication seconds per 1000 local steps, and its share of a step."""
    one = figures["one"]
    out = {}
    for mode, values in figures.items():
        if mode == "one":
            continue
        local_batch = DATASETS_BATCH[values["dataset"]] / values["learners"]
        compute = one["epoch_seconds"] / one["steps_per_epoch"] * local_batch / DATASETS_BATCH[values["dataset"]]
        per_step_calls = values["allreduce_calls_per_epoch"] / values["steps_per_epoch"]
        per_step_bytes = values["allreduce_bytes_per_epoch"] / values["steps_per_epoch"]
        out[mode] = {}
        hier = MODES["hier"][1]
        for learners in LEARNERS_PROJECTED:
            comm = ring_seconds(per_step_calls, per_step_bytes, learners, model)
            if mode == "hier":  # one average in global_every is over all P learners, the others within groups of S
                share = 1 / hier["global_every"]
                comm = share * comm + (1 - share) * ring_seconds(per_step_calls, per_step_bytes, hier["group_size"], model)
            out[mode][learners] = {"comm_s_per_1000_steps": 1000 * comm, "comm_share": comm / (comm + compute)}
    return out


DATASETS_BATCH = {name: values["batch_size"] for name, values in DATASETS.items()}


def report(summary: dict, out: Path) -> None:
    lines = ["# Distributed training (CPU, gloo)", "",
             f"Epochs: {summary['epochs']}; quick: {summary['quick']}; commit {summary['commit']}.", ""]
    for name, figures in summary["datasets"].items():
        monitor = DATASETS[name]["monitor"]
        lines += [f"## {name} ({DATASETS[name]['model']})", "",
                  f"| mode | learners | s/epoch | all-reduce calls/epoch | MB/epoch | DDP bytes / these | best val {monitor} "
                  f"| last val {monitor} |", "|---|---|---|---|---|---|---|---|"]
        ddp_bytes = figures["ddp"]["allreduce_bytes_per_epoch"]
        for mode, values in figures.items():
            ratio = ddp_bytes / values["allreduce_bytes_per_epoch"] if values["allreduce_bytes_per_epoch"] else float("inf")
            lines.append(f"| {mode} | {values['learners']} | {values['epoch_seconds']:.2f} | "
                         f"{values['allreduce_calls_per_epoch']:.0f} | {values['allreduce_bytes_per_epoch'] / 1e6:.2f} | "
                         f"{ratio:.1f} | {values[f'best_val_{monitor}']:.4f} | {values[f'val_{monitor}']:.4f} |")
        lines += ["", f"Projected communication at P learners ({name}; seconds per 1000 local steps, share of a step):", "",
                  "| mode | " + " | ".join(f"P={p}" for p in LEARNERS_PROJECTED) + " |",
                  "|---|" + "---|" * len(LEARNERS_PROJECTED)]
        for mode, row in summary["projection"][name].items():
            lines.append(f"| {mode} | " + " | ".join(f"{row[p]['comm_s_per_1000_steps']:.1f} s ({100 * row[p]['comm_share']:.0f}%)"
                                                     for p in LEARNERS_PROJECTED) + " |")
        lines.append("")
    model = summary["ring_model"]
    lines += ["## All-reduce cost model", "",
              f"Ring all-reduce fitted to {model['points']} gloo timings on this machine: latency "
              f"{model['latency_s'] * 1e6:.0f} µs, bandwidth {model['bandwidth_bytes_per_s'] / 1e9:.2f} GB/s, median relative "
              f"error {100 * model['median_relative_error']:.0f}%.", "",
              "## Goals", "", "```", json.dumps(summary["goals"], indent=1), "```", ""]
    out.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small subsets, 2 epochs (minutes)")
    parser.add_argument("--epochs", type=int, help="epochs of every run (default 12, quick 2)")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--work-dir", type=Path, help="run folders and the dataset cache (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=Path("distributed.md"), help="markdown report")
    parser.add_argument("--report-only", action="store_true", help="recompute the figures and report from --work-dir")
    parser.add_argument("--learner", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.learner:
        learner(args.learner)
        return {}
    epochs = args.epochs or (2 if args.quick else 12)
    subsets = {"crafted726": 96, "sider": 160} if args.quick else {}
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="molgnn_distributed_"))
    work.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        saved = work / "job_seconds.json"
        return summarize(args, work, epochs, json.loads(saved.read_text()) if saved.exists() else {})
    for name in DATASETS:  # build the caches once, before the learners read them
        load(name, args.data_dir, work / "cache", None, workers=2)

    by_learners: dict[int, list[dict]] = {}
    for name, setting in DATASETS.items():
        for mode, (learners, fields) in MODES.items():
            run_dir = work / "runs" / name / mode
            shutil.rmtree(run_dir, ignore_errors=True)
            config = {"model": setting["model"], "model_args": setting["model_args"], "batch_size": setting["batch_size"],
                      "epochs": epochs, "lr": 1e-3, "optimizer": "adamw", "seed": 0, "patience": epochs + 1, **fields}
            by_learners.setdefault(learners, []).append({"dataset": name, "dir": str(run_dir), "config": config})
    job_seconds = {learners: launch(work, learners, runs, args, subsets) for learners, runs in sorted(by_learners.items())}
    (work / "job_seconds.json").write_text(json.dumps(job_seconds))
    return summarize(args, work, epochs, job_seconds)


def summarize(args, work: Path, epochs: int, job_seconds: dict) -> dict:
    """Figures, goals, cost model and projection from the run folders; the report; the printed lines and JSON."""
    datasets = {}
    for name, setting in DATASETS.items():
        datasets[name] = {mode: {"dataset": name, **run_figures(work / "runs" / name / mode, setting["monitor"])}
                          for mode in MODES}
    timings = {int(path.stem.split("_P")[1]): {int(k): v for k, v in json.loads(path.read_text()).items()}
               for path in work.glob("allreduce_P*.json") if int(path.stem.split("_P")[1]) > 1}
    ring = fit_ring(timings)
    goals = {}
    for name, figures in datasets.items():
        monitor = f"best_val_{DATASETS[name]['monitor']}"
        better = (figures["kavg16"][monitor] >= figures["ddp"][monitor] if DATASETS[name]["monitor"] == "roc_auc"
                  else figures["kavg16"][monitor] <= figures["ddp"][monitor])
        ratio = figures["ddp"]["allreduce_bytes_per_epoch"] / max(figures["kavg16"]["allreduce_bytes_per_epoch"], 1)
        goals[name] = {"kavg16_bytes_reduction": ratio, "bytes_goal_met": ratio >= 10,
                       "kavg16_metric": figures["kavg16"][monitor], "ddp_metric": figures["ddp"][monitor],
                       "metric_equal_or_better": bool(better),
                       "epoch_time_ratio_2_vs_1": figures["ddp"]["epoch_seconds"] / figures["one"]["epoch_seconds"]}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    summary = {"quick": args.quick, "epochs": epochs, "commit": commit, "job_seconds": job_seconds, "datasets": datasets,
               "ring_model": ring, "allreduce_timings": timings,
               "projection": {name: projection(figures, ring) for name, figures in datasets.items()}, "goals": goals}
    report(summary, args.out)
    for name, figures in datasets.items():
        for mode, values in figures.items():
            print(f"{name:10s} {mode:7s} P={values['learners']} {values['epoch_seconds']:7.2f} s/epoch "
                  f"{values['allreduce_calls_per_epoch']:5.0f} calls {values['allreduce_bytes_per_epoch'] / 1e6:8.2f} MB/epoch "
                  f"val {values['val_' + DATASETS[name]['monitor']]:.4f}")
    print(f"ring model: latency {ring['latency_s'] * 1e6:.0f} us, bandwidth {ring['bandwidth_bytes_per_s'] / 1e9:.2f} GB/s")
    compact = {"quick": args.quick, "epochs": epochs, "goals": goals, "ring_model": ring, "job_seconds": job_seconds,
               "figures": {name: {mode: {key: values[key] for key in ("learners", "epoch_seconds", "allreduce_calls_per_epoch",
                                                                     "allreduce_bytes_per_epoch", f"val_{DATASETS[name]['monitor']}",
                                                                     f"best_val_{DATASETS[name]['monitor']}")}
                                  for mode, values in figures.items()} for name, figures in datasets.items()},
               "report": str(args.out)}
    print(json.dumps(compact))
    return compact


if __name__ == "__main__":
    main()
