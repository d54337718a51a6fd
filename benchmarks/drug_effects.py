"""Multilabel drug-effect prediction with and without oversampling: the side-by-side experiment.

Protocol. On sider (27 side-effect classes) and tox21 (12 assays, missing labels), for the hybrid
model (AttentiveFP + 2048-bit Morgan fingerprint MLP) and one plain GNN (GINE, which does not read
the fingerprint): no oversampling vs ML-ROS vs MLSMOTE vs molgnn's co-occurrence oversampler
(budget 25% of the training split for all three), on the same splits — multilabel-stratified
random 80/10/10 and scaffold 80/10/10, one split per seed — with the same hyper-parameters and
seeds. The seed sets the split, the weights' initialisation, the batch order and the
oversampler. The validation and test splits are never oversampled; the best epoch is chosen by
validation ROC-AUC. Reported per setting: mean ± std over seeds of the test micro/macro
precision, recall and F1 (threshold 0.5, and with per-label thresholds tuned on validation),
ROC-AUC and PR-AUC (means over labels with both classes in the test split), MeanIR and SCUMBLE of
the training set the model saw, and training time. chemprop 2 (``chemprop train``, its defaults:
D-MPNN, 300 hidden, depth 3, run as a subprocess on one thread) is trained on the same splits as
the outside reference, scored with the same metric code on its test predictions.

Goals (issue 4): macro-F1 of the co-occurrence oversampler above both no oversampling and MLSMOTE
on sider and tox21; mean test ROC-AUC with the random (stratified) split ≥ 0.68 on sider and ≥ 0.85
on tox21 (hybrid, no oversampling).

Runs go to ``--work-dir`` (one run folder each); a run whose folder already holds its metrics is
not repeated, so an interrupted experiment continues where it stopped. Writes ``drug_effects.md``
(tables), ``drug_effects.json`` (every run) and ``drug_effects_<dataset>.png`` (macro-F1 and
ROC-AUC per setting) to ``--out``; prints one JSON object as its last line.

    python benchmarks/drug_effects.py                   # the whole experiment
    python benchmarks/drug_effects.py --quick           # small subsets, 2 epochs, 1 seed: a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from peers import chemprop_unavailable  # benchmarks/peers.py, beside this script

OVERSAMPLERS = ("none", "ml-ros", "mlsmote", "cooccurrence")
METRICS = ("roc_auc", "pr_auc", "precision_micro", "recall_micro", "f1_micro", "precision_macro", "recall_macro", "f1_macro")
FULL = {"datasets": ("sider", "tox21"), "splits": ("stratified", "scaffold"), "seeds": (0, 1, 2), "rows": None,
        "epochs": {"sider": 30, "tox21": 10}, "patience": 10, "batch_size": 64,
        "models": {"hybrid": {"hidden": 128, "fp_hidden": 256, "dropout": 0.2}, "gine": {"hidden": 128, "layers": 3}}}
QUICK = {**FULL, "splits": ("stratified",), "seeds": (0,), "rows": {"sider": 300, "tox21": 400},
         "epochs": {"sider": 2, "tox21": 2}, "models": {"hybrid": {"hidden": 32, "fp_hidden": 32}, "gine": {"hidden": 32}}}


def default_data_dir() -> Path:
    return Path(os.environ.get("MOLGNN_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")


# ---------------------------------------------------------------------------------------- the runs

def source_csv(name: str, data_dir: Path, work: Path, rows: int | None) -> Path:
    """The dataset's CSV (its first ``rows`` rows in quick mode); record ids are its row numbers."""
    path = data_dir / "molnet" / f"{name}.csv"
    if rows is None:
        return path
    work.mkdir(parents=True, exist_ok=True)
    subset = work / f"{name}-{rows}.csv"
    pd.read_csv(path).iloc[:rows].to_csv(subset, index=False)
    return subset


def load(csv: Path, cache_dir: Path):
    from molgnn.data import load_dataset
    from molgnn.featurize.molecule import MoleculeFeaturizer

    return load_dataset(str(csv), featurizer=MoleculeFeaturizer(fingerprint_bits=2048), cache_dir=cache_dir,
                        workers=1, progress=False)


def splits_for(dataset, kinds, seeds) -> dict[tuple[str, int], dict]:
    """One split per (kind, seed), as ``Split.to_dict`` (ids), shared by every setting."""
    from molgnn.data.splits import make_split

    y = dataset.labels.numpy()
    return {(kind, seed): make_split(kind, len(dataset), smiles=dataset.smiles, y=y, seed=seed).to_dict(dataset.ids)
            for kind in kinds for seed in seeds}


def molgnn_run(job: dict) -> dict:
    """Train one setting (in a worker process, one torch thread); returns its row of results."""
    import torch

    torch.set_num_threads(1)
    from molgnn.data.splits import Split
    from molgnn.train.config import TrainConfig
    from molgnn.train.trainer import train

    dataset = load(Path(job["csv"]), Path(job["cache_dir"]))
    run_dir = Path(job["run_dir"])
    config = TrainConfig(model=job["model"], model_args=job["model_args"], epochs=job["epochs"],
                         batch_size=job["batch_size"], lr=1e-3, optimizer="adam", patience=job["patience"],
                         monitor="roc_auc", seed=job["seed"], oversample=job["oversample"], oversample_budget=0.25)
    start = time.perf_counter()
    done_before = (run_dir / "metrics.json").exists()
    metrics = train(dataset, run_dir, config, split=Split.from_dict(job["split"], dataset.ids), progress=False)
    seconds = json.loads((run_dir / "time.json").read_text())["seconds"] if done_before else time.perf_counter() - start
    (run_dir / "time.json").write_text(json.dumps({"seconds": seconds}))
    imbalance = _training_imbalance(dataset, job, run_dir)
    row = {key: job[key] for key in ("dataset", "split_kind", "model", "oversample", "seed")}
    row.update({f"test_{k}": metrics["test"][k] for k in METRICS})
    row.update({f"tuned_{k}": metrics["test_tuned_threshold"][k] for k in METRICS if k.startswith(("precision", "recall", "f1"))})
    row.update({"train_mean_ir": imbalance["mean_ir"], "train_scumble": imbalance["mean_scumble"],
                "train_samples": imbalance["n_samples"], "best_epoch": metrics["best_epoch"],
                "epochs_run": metrics["epochs_run"], "seconds": seconds})
    return row


def _training_imbalance(dataset, job: dict, run_dir: Path) -> dict:
    if job["oversample"] != "none":
        return json.loads((run_dir / "imbalance.json").read_text())["after"]
    from molgnn.imbalance import ImbalanceReport

    position = {record: k for k, record in enumerate(dataset.ids)}
    train = [position[record] for record in job["split"]["train"]]
    return ImbalanceReport.from_labels(dataset.labels.numpy()[train], dataset.targets).to_dict()


def chemprop_run(job: dict) -> dict:
    """``chemprop train`` on the same split (a subprocess on one thread), scored like molgnn's runs."""
    from molgnn.train.metrics import classification_metrics

    out = Path(job["run_dir"])
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.read_csv(job["csv"], dtype=str, keep_default_na=False)
    split = job["split"]
    order = split["train"] + split["val"] + split["test"]
    data = out / "data.csv"
    frame.iloc[[int(i) for i in order]].to_csv(data, index=False)
    bounds = np.cumsum([0, *(len(split[k]) for k in ("train", "val", "test"))]).tolist()
    rows = {k: list(range(bounds[j], bounds[j + 1])) for j, k in enumerate(("train", "val", "test"))}
    (out / "splits.json").write_text(json.dumps([rows]))
    predictions = list((out / "run").rglob("test_predictions.csv"))
    seconds = json.loads((out / "time.json").read_text())["seconds"] if predictions else None
    if not predictions:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
        command = ["chemprop", "train", "--data-path", str(data), "--smiles-columns", "smiles", "--task-type",
                   "classification", "--splits-file", str(out / "splits.json"), "--epochs", str(job["epochs"]),
                   "--batch-size", str(job["batch_size"]), "--num-workers", "0", "--accelerator", "cpu", "--devices", "1",
                   "--pytorch-seed", str(job["seed"]), "--output-dir", str(out / "run"),
                   "--warmup-epochs", str(min(2, job["epochs"] - 1))]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"chemprop train failed on {job['dataset']}: {result.stderr[-1500:]}")
        (out / "time.json").write_text(json.dumps({"seconds": seconds}))
        predictions = list((out / "run").rglob("test_predictions.csv"))
    predicted = pd.read_csv(predictions[0])
    truth = pd.read_csv(data).iloc[rows["test"]]
    if list(predicted["smiles"]) != list(truth["smiles"]):
        raise AssertionError("chemprop's test predictions are not in the test split's order")
    labels = [c for c in truth.columns if c != "smiles"]
    metrics = classification_metrics(truth[labels].to_numpy(float), predicted[labels].to_numpy(float), labels)
    row = {key: job[key] for key in ("dataset", "split_kind", "seed")}
    row.update({"model": "chemprop", "oversample": "none", **{f"test_{k}": metrics[k] for k in METRICS}, "seconds": seconds})
    return row


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


# -------------------------------------------------------------------------------------- the report

def aggregate(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    numeric = [c for c in frame.columns if c.startswith(("test_", "tuned_", "train_")) or c == "seconds"]
    grouped = frame.groupby(["dataset", "split_kind", "model", "oversample"], sort=False)[numeric]
    summary = grouped.mean().join(grouped.std(ddof=0), rsuffix="_std").join(grouped.size().rename("seeds"))
    return summary.reset_index()


def goals(summary: pd.DataFrame) -> dict:
    """The issue's goals, per dataset (macro-F1: for every model and split the co-occurrence oversampler's mean
    against no oversampling and against MLSMOTE; ROC-AUC: hybrid, stratified split, no oversampling)."""
    out = {}
    for dataset, part in summary.groupby("dataset", sort=False):
        comparisons = []
        for (kind, model), setting in part[part["model"] != "chemprop"].groupby(["split_kind", "model"], sort=False):
            f1 = setting.set_index("oversample")["test_f1_macro"]
            if not set(OVERSAMPLERS) <= set(f1.index):  # an unfinished setting (--report-only)
                continue
            comparisons.append({"split": kind, "model": model, "f1_macro": {k: round(float(v), 4) for k, v in f1.items()},
                                "ours_above_none": bool(f1["cooccurrence"] > f1["none"]),
                                "ours_above_mlsmote": bool(f1["cooccurrence"] > f1["mlsmote"])})
        reference = part[(part["model"] == "hybrid") & (part["split_kind"] == "stratified") & (part["oversample"] == "none")]
        target = {"sider": 0.68, "tox21": 0.85}.get(dataset)
        roc = float(reference["test_roc_auc"].iloc[0]) if len(reference) else None
        chemprop = part[(part["model"] == "chemprop") & (part["split_kind"] == "stratified")]
        out[dataset] = {"macro_f1": comparisons,
                        "macro_f1_goal_met": bool(comparisons) and all(c["ours_above_none"] and c["ours_above_mlsmote"]
                                                                       for c in comparisons),
                        "hybrid_roc_auc_stratified": roc, "roc_auc_goal": target,
                        "roc_auc_goal_met": None if roc is None or target is None else roc >= target,
                        "chemprop_roc_auc_stratified": float(chemprop["test_roc_auc"].iloc[0]) if len(chemprop) else None}
    return out


def markdown(summary: pd.DataFrame, config: dict, note: str) -> str:
    shown = ["test_roc_auc", "test_pr_auc", "test_f1_micro", "test_f1_macro", "tuned_f1_macro", "test_precision_macro",
             "test_recall_macro", "train_mean_ir", "train_scumble", "seconds"]
    lines = ["# Drug-effect experiment", "", note, ""]
    for (dataset, kind), part in summary.groupby(["dataset", "split_kind"], sort=False):
        lines += [f"## {dataset}, {kind} split (mean ± std over seeds)", "",
                  "| model | oversampling | seeds | " + " | ".join(_header(column) for column in shown) + " |",
                  "|---|---|---|" + "---|" * len(shown)]
        for _, row in part.iterrows():
            cells = []
            for column in shown:
                value, spread = row.get(column), row.get(f"{column}_std")
                if value is None or (isinstance(value, float) and np.isnan(value)):
                    cells.append("")
                elif column == "seconds":
                    cells.append(f"{value:.0f}")
                else:
                    cells.append(f"{value:.3f} ± {spread:.3f}")
            lines.append(f"| {row['model']} | {row['oversample']} | {row['seeds']} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Hyper-parameters: " + json.dumps({k: v for k, v in config.items() if k != "rows"}), ""]
    return "\n".join(lines)


def _header(column: str) -> str:
    return column.replace("test_", "").replace("train_", "train ")


def plot(summary: pd.DataFrame, out: Path) -> list[str]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    written = []
    for dataset, part in summary.groupby("dataset", sort=False):
        figure = Figure(figsize=(11, 4), layout="constrained")
        FigureCanvasAgg(figure)
        for k, metric in enumerate(("test_f1_macro", "test_roc_auc")):
            axes = figure.add_subplot(1, 2, k + 1)
            labels = [f"{r.model}/{r.oversample}\n{r.split_kind}" for r in part.itertuples()]
            colours = [f"C{OVERSAMPLERS.index(o) if o in OVERSAMPLERS else 4}" for o in part["oversample"]]
            colours = [c if m != "chemprop" else "C7" for c, m in zip(colours, part["model"])]
            axes.bar(range(len(part)), part[metric], yerr=part[f"{metric}_std"], color=colours, capsize=2)
            axes.set_xticks(range(len(part)), labels, rotation=90, fontsize=7)
            axes.set_ylabel(metric.replace("test_", "test "))
            axes.set_title(f"{dataset}: test {metric.replace('test_', '')}, mean ± std over seeds", fontsize=9)
            low = np.nanmin(part[metric] - part[f"{metric}_std"])
            axes.set_ylim(max(0.0, low - 0.05), min(1.0, np.nanmax(part[metric] + part[f"{metric}_std"]) + 0.03))
        from matplotlib.patches import Patch

        names = [*OVERSAMPLERS, "chemprop"]
        figure.legend(handles=[Patch(color=f"C{k}" if k < 4 else "C7", label=name) for k, name in enumerate(names)],
                      loc="outside upper center", ncols=len(names), fontsize=8)
        path = out / f"drug_effects_{dataset}.png"
        figure.savefig(path, dpi=110)
        written.append(str(path))
    return written


# ------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--quick", action="store_true", help="small subsets, 2 epochs, one seed (minutes)")
    parser.add_argument("--work-dir", type=Path, help="run folders (default: a temporary folder; reuse one to resume)")
    parser.add_argument("--out", type=Path, default=Path("drug_effects_results"), help="report folder")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel, one torch thread each")
    parser.add_argument("--datasets", nargs="+", help="subset of the data sets (default sider tox21)")
    parser.add_argument("--splits", nargs="+", choices=("stratified", "scaffold"), help="subset of the splits (default both)")
    parser.add_argument("--seeds", type=int, help="number of seeds (default 3)")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: report the runs of --work-dir that have finished (e.g. of an interrupted experiment)")
    parser.add_argument("--chemprop-only", action="store_true", help="run only the chemprop reference")
    parser.add_argument("--no-chemprop", action="store_true", help="leave the chemprop reference out")
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    if args.datasets:
        config["datasets"] = tuple(args.datasets)
    if args.splits:
        config["splits"] = tuple(args.splits)
    if args.seeds:
        config["seeds"] = tuple(range(args.seeds))
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="molgnn-drug-effects-"))
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = work / "cache"
    started = time.perf_counter()

    molgnn_jobs, chemprop_jobs = [], []
    chemprop_note = "skipped (--no-chemprop)" if args.no_chemprop else chemprop_unavailable()
    for name in config["datasets"]:
        csv = source_csv(name, args.data_dir, work / "data", (config["rows"] or {}).get(name))
        dataset = load(csv, cache_dir)
        if not all(record.isdigit() for record in dataset.ids):
            raise AssertionError(f"expected the record ids of {name} to be its CSV row numbers")
        print(f"{name}: {len(dataset)} molecules, {len(dataset.targets)} labels, {len(dataset.rejects)} rejected", flush=True)
        for (kind, seed), split in splits_for(dataset, config["splits"], config["seeds"]).items():
            common = {"dataset": name, "csv": str(csv), "cache_dir": str(cache_dir), "split_kind": kind, "seed": seed,
                      "split": split, "epochs": config["epochs"][name], "batch_size": config["batch_size"],
                      "patience": config["patience"]}
            for model, model_args in config["models"].items():
                for oversample in OVERSAMPLERS:
                    molgnn_jobs.append({**common, "model": model, "model_args": model_args, "oversample": oversample,
                                        "run_dir": str(work / "runs" / name / kind / f"seed{seed}" / f"{model}-{oversample}")})
            if chemprop_note is None:
                chemprop_jobs.append({**common, "run_dir": str(work / "runs" / name / kind / f"seed{seed}" / "chemprop")})

    import molgnn.train.trainer  # noqa: F401  (imported once here; the forked workers inherit it)

    if args.chemprop_only:
        molgnn_jobs = []
    if args.report_only:
        molgnn_jobs = [job for job in molgnn_jobs if (Path(job["run_dir"]) / "metrics.json").exists()]
        chemprop_jobs = [job for job in chemprop_jobs if (Path(job["run_dir"]) / "time.json").exists()]
    rows = []
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=_worker_init) as pool:
        futures = [pool.submit(molgnn_run, job) for job in molgnn_jobs] + [pool.submit(chemprop_run, job) for job in chemprop_jobs]
        for k, future in enumerate(futures, 1):
            row = future.result()
            rows.append(row)
            print(f"[{k}/{len(futures)}] {row['dataset']} {row['split_kind']} seed {row['seed']} {row['model']} "
                  f"{row['oversample']}: ROC-AUC {row['test_roc_auc']:.3f}, macro-F1 {row['test_f1_macro']:.3f}, "
                  f"{row['seconds']:.0f} s", flush=True)
    summary = aggregate(rows)
    note = (f"{'Quick mode: subsets ' + json.dumps(config['rows']) + ', ' if args.quick else ''}"
            f"{'Report of the finished runs only (--report-only), ' if args.report_only else ''}"
            f"chemprop: {chemprop_note or 'chemprop 2 CLI, defaults'}; wall time {time.perf_counter() - started:.0f} s "
            f"with {args.jobs} parallel run(s).")
    (out / "drug_effects.md").write_text(markdown(summary, config, note))
    (out / "drug_effects.json").write_text(json.dumps({"runs": rows, "summary": summary.to_dict(orient="records")},
                                                      default=float, indent=1))
    figures = plot(summary, out)
    print(markdown(summary, config, note))
    result = {"benchmark": "drug_effects", "quick": args.quick, "runs": len(rows), "wall_s": round(time.perf_counter() - started, 1),
              "jobs": args.jobs, "chemprop": chemprop_note or "ok", "goals": goals(summary), "report": str(out / "drug_effects.md"),
              "figures": figures}
    print(json.dumps(result, default=float))
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
