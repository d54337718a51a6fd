"""Multilabel drug-effect prediction: molgnn against chemprop, and an honest measure of the oversamplers.

Protocol. On sider (27 side-effect classes) and tox21 (12 assays, missing labels masked), with
molgnn's best molecule model, ``hybrid_descriptors`` (AttentiveFP + 2048-bit Morgan fingerprint
MLP + MLP over RDKit's 2D descriptors, normalized with the training split's quantiles): no
oversampling vs ML-ROS vs MLSMOTE vs molgnn's co-occurrence oversampler (budget 25% of the training
split for all three), on the same splits — multilabel-stratified random 80/10/10 and scaffold
80/10/10, one split per seed, seeds 0-4 — with the same hyper-parameters. The seed sets the split,
the weights' initialisation, the batch order and the oversampler. The validation and test splits
are never oversampled; the best epoch is chosen by validation ROC-AUC (early stopping). chemprop 2
(``chemprop train``: D-MPNN, its defaults, one thread) is trained on the stratified splits of the
first ``--chemprop-seeds`` seeds twice: with its defaults, and with ``--features-generators
v1_rdkit_2d_normalized`` (its RDKit 2D descriptors, CDF-normalized) for fairness; its test
predictions are scored with molgnn's metric code. On every split, the simple alternatives a chemist
would try first (``molgnn.train.baselines.classification_baselines``): the training prevalence
(``mean``) and a random forest per label on the same fingerprint and descriptors (``forest``, 200
trees, fitted on the training split, thresholds tuned on validation). And molgnn's network blended
with a forest (``hybrid_descriptors+forest``): the no-oversampling ``hybrid_descriptors`` run with
``molgnn.train.forest.add_forest`` (200 class-balanced extremely randomized trees per label, equal
weights; what ``forest_trees = 200`` does at the end of training), evaluated as every run is,
thresholds tuned on validation, with the blend's forest alone beside it (``extra trees``). Where ``benchmarks/configs/<dataset>.json``
exists (the best config of ``molgnn tune`` on the data set, searched on the training and
validation records of the stratified seed-0 split), it is trained on every stratified split too
(``hybrid_descriptors_tuned``, no oversampling), against the hand-set defaults above.

Reported per setting: mean ± std over seeds of the test ROC-AUC, PR-AUC, micro/macro F1 (threshold
0.5, and with per-label thresholds tuned on validation) and the macro-F1 of the rarest third of the
labels (fixed per data set: the labels with the lowest positive rate over the whole data set, the
labels oversampling exists for); per-label F1 tables; MeanIR and SCUMBLE of each training set
before and after oversampling; and the paired comparisons: per (split, seed) pair, the
co-occurrence oversampler's rare-label macro-F1 minus that of no oversampling, of ML-ROS and of
MLSMOTE, with the number of pairs it wins and the mean ± std of the differences.

Goals (issue 13): tox21 mean test ROC-AUC ≥ 0.85 and sider ≥ 0.68 (stratified split, no
oversampling; the best of molgnn's default, tuned and forest-blended models), both above chemprop with and
without RDKit features on the same splits (and, reported beside them, above the forest); the
co-occurrence oversampler winning the rare-label macro-F1 comparison against no oversampling and
against MLSMOTE in ≥ 8 of the 10 pairs per data set.

Runs go to ``--work-dir`` (one run folder each); a run whose folder already holds its metrics is
not repeated, so an interrupted experiment continues where it stopped. ``--jobs`` runs go in
parallel, one torch thread each. Writes ``drug_effects.md`` (tables), ``drug_effects.json`` (every
run, the summary and the comparisons) and ``drug_effects_<dataset>.png`` to ``--out``; prints one
JSON object as its last line.

    python benchmarks/drug_effects.py --jobs 2          # the whole experiment (about 85 min on 2 cores)
    python benchmarks/drug_effects.py --quick           # small subsets, 2 epochs, 1 seed: a smoke test
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from peers import chemprop_unavailable, git_commit  # benchmarks/peers.py, beside this script

OVERSAMPLERS = ("none", "ml-ros", "mlsmote", "cooccurrence")
OURS = "cooccurrence"
MODEL = "hybrid_descriptors"
BLEND = f"{MODEL}+forest"  # the no-oversampling run blended with a forest (molgnn.train.forest)
BLEND_TREES = 200
FOREST_PART = "extra trees"  # the blend's forest alone (class-balanced extremely randomized trees, molgnn.train.forest)
TUNED = f"{MODEL}_tuned"  # the best config of molgnn tune on the data set (benchmarks/configs/<dataset>.json)
CONFIGS = Path(__file__).resolve().parent / "configs"
BASELINES = {"mean predictor": "mean", "random forest": "forest"}  # classification_baselines' names: ours
CHEMPROPS = {"chemprop": [], "chemprop_rdkit2d": ["--features-generators", "v1_rdkit_2d_normalized"]}
METRICS = ("roc_auc", "pr_auc", "precision_micro", "recall_micro", "f1_micro", "precision_macro", "recall_macro", "f1_macro")
ROC_GOALS = {"sider": 0.68, "tox21": 0.85}
FULL = {"datasets": ("sider", "tox21"), "splits": ("stratified", "scaffold"), "seeds": (0, 1, 2, 3, 4), "chemprop_seeds": 3,
        "rows": None, "epochs": {"sider": 30, "tox21": 15}, "patience": 5, "batch_size": 64,
        "model_args": {"hidden": 128, "fp_hidden": 256, "descriptor_hidden": 256, "dropout": 0.2}}
QUICK = {**FULL, "splits": ("stratified",), "seeds": (0,), "chemprop_seeds": 1, "rows": {"sider": 300, "tox21": 400},
         "epochs": {"sider": 2, "tox21": 2}, "model_args": {"hidden": 32, "fp_hidden": 32, "descriptor_hidden": 32}}


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

    return load_dataset(str(csv), featurizer=MoleculeFeaturizer(fingerprint_bits=2048, descriptors="rdkit2d"),
                        cache_dir=cache_dir, workers=1, progress=False)


def rare_labels(dataset) -> list[str]:
    """The rarest third of the labels (lowest positive rate over the whole data set, observed labels only)."""
    rates = np.nanmean(dataset.labels.numpy(), axis=0)
    order = np.argsort(rates, kind="stable")
    return [dataset.targets[k] for k in order[: math.ceil(len(dataset.targets) / 3)]]


def label_scores(metrics: dict, rare: list[str]) -> dict:
    """Per-label F1 and the macro-F1 of the rare labels (labels without an observed test entry left out)."""
    f1 = {name: scores.get("f1") for name, scores in metrics["per_label"].items()}
    rare_f1 = [f1[name] for name in rare if f1.get(name) is not None]
    return {"f1_rare": float(np.mean(rare_f1)) if rare_f1 else None, "per_label_f1": f1}


def splits_for(dataset, kinds, seeds) -> dict[tuple[str, int], dict]:
    """One split per (kind, seed), as ``Split.to_dict`` (ids), shared by every setting."""
    from molgnn.data.splits import make_split

    y = dataset.labels.numpy()
    return {(kind, seed): make_split(kind, len(dataset), smiles=dataset.smiles, y=y, seed=seed).to_dict(dataset.ids)
            for kind in kinds for seed in seeds}


def molgnn_run(job: dict) -> list[dict]:
    """Train one setting (in a worker process, one torch thread); returns its row of results (a list of one)."""
    import torch

    torch.set_num_threads(1)
    from molgnn.data.splits import Split
    from molgnn.train.config import TrainConfig
    from molgnn.train.trainer import train

    dataset = load(Path(job["csv"]), Path(job["cache_dir"]))
    run_dir = Path(job["run_dir"])
    if job.get("config_file"):  # the tuned setting: the study's best config, on this job's split and seed
        config = dataclasses.replace(TrainConfig.from_file(job["config_file"]), seed=job["seed"], oversample="none")
    else:
        config = TrainConfig(model=MODEL, model_args=job["model_args"], epochs=job["epochs"],
                             batch_size=job["batch_size"], lr=1e-3, optimizer="adam", patience=job["patience"],
                             monitor="roc_auc", seed=job["seed"], oversample=job["oversample"], oversample_budget=0.25)
    start = time.perf_counter()
    done_before = (run_dir / "metrics.json").exists()
    metrics = train(dataset, run_dir, config, split=Split.from_dict(job["split"], dataset.ids), progress=False)
    seconds = json.loads((run_dir / "time.json").read_text())["seconds"] if done_before else time.perf_counter() - start
    (run_dir / "time.json").write_text(json.dumps({"seconds": seconds}))
    before, after = _training_imbalance(dataset, job, run_dir)
    row = {**_scored_row(job, job["model"], metrics, seconds), "oversample": job["oversample"]}
    row.update({"train_mean_ir_before": before["mean_ir"], "train_scumble_before": before["mean_scumble"],
                "train_mean_ir": after["mean_ir"], "train_scumble": after["mean_scumble"],
                "train_samples": after["n_samples"], "best_epoch": metrics["best_epoch"],
                "epochs_run": metrics["epochs_run"], "seconds": seconds})
    return [row]


def _training_imbalance(dataset, job: dict, run_dir: Path) -> tuple[dict, dict]:
    """MeanIR, SCUMBLE and size of the training split before and after oversampling."""
    if job["oversample"] != "none":
        report = json.loads((run_dir / "imbalance.json").read_text())
        return report["before"], report["after"]
    from molgnn.imbalance import ImbalanceReport

    position = {record: k for k, record in enumerate(dataset.ids)}
    train = [position[record] for record in job["split"]["train"]]
    report = ImbalanceReport.from_labels(dataset.labels.numpy()[train], dataset.targets).to_dict()
    return report, report


def chemprop_run(job: dict) -> list[dict]:
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
    if not predictions:  # --epochs: as molgnn's maximum; chemprop has no early stopping, it keeps the best validation epoch
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
        command = ["chemprop", "train", "--data-path", str(data), "--smiles-columns", "smiles", "--task-type",
                   "classification", "--splits-file", str(out / "splits.json"), "--epochs", str(job["epochs"]),
                   "--batch-size", str(job["batch_size"]), "--num-workers", "0", "--accelerator", "cpu", "--devices", "1",
                   "--pytorch-seed", str(job["seed"]), "--output-dir", str(out / "run"),
                   "--warmup-epochs", str(min(2, job["epochs"] - 1)), *CHEMPROPS[job["model"]]]
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
    scores = label_scores(metrics, job["rare"])
    row = {key: job[key] for key in ("dataset", "split_kind", "seed", "model")}
    row.update({"oversample": "none", **{f"test_{k}": metrics[k] for k in METRICS}, "test_f1_rare": scores["f1_rare"],
                "per_label_f1": scores["per_label_f1"], "seconds": seconds})
    return [row]


def baseline_run(job: dict) -> list[dict]:
    """The mean predictor and the random forest on the split (in a worker process), one row each."""
    from molgnn.data.splits import Split
    from molgnn.train.baselines import classification_baselines

    out = Path(job["run_dir"])
    saved = out / "baselines.json"
    if saved.exists():
        return json.loads(saved.read_text())
    dataset = load(Path(job["csv"]), Path(job["cache_dir"]))
    split = Split.from_dict(job["split"], dataset.ids)
    start = time.perf_counter()
    results = classification_baselines(dataset, split, seed=job["seed"])
    seconds = time.perf_counter() - start
    rows = [_scored_row(job, BASELINES[name], metrics, seconds) for name, metrics in results.items()]
    out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(rows, default=float))
    return rows


def blend_run(job: dict) -> list[dict]:
    """The finished no-oversampling run, copied and blended with a forest (``add_forest``), evaluated as a run."""
    import shutil

    import torch

    from molgnn.data.splits import Split
    from molgnn.train.checkpoint import load_run
    from molgnn.train.evaluate import evaluate_split
    from molgnn.train.forest import add_forest

    out, source = Path(job["run_dir"]), Path(job["source_dir"])
    if not (out / "metrics.json").exists():
        dataset = load(Path(job["csv"]), Path(job["cache_dir"]))
        split = Split.from_dict(job["split"], dataset.ids)
        start = time.perf_counter()
        shutil.copytree(source, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns("metrics.json", "last.pt"))
        add_forest(out, dataset, split, trees=BLEND_TREES, weight="auto", seed=job["seed"])
        metrics = evaluate_split(load_run(out), dataset, split, out, json.loads((source / "log.json").read_text()),
                                 job["batch_size"], torch.device("cpu"))
        (out / "time.json").write_text(json.dumps({"seconds": time.perf_counter() - start}))
        (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    metrics = json.loads((out / "metrics.json").read_text())
    seconds = json.loads((source / "time.json").read_text())["seconds"] + json.loads((out / "time.json").read_text())["seconds"]
    forest = {"test": metrics["test_parts"]["forest alone"],
              "test_tuned_threshold": metrics["test_parts_tuned_threshold"]["forest alone"]}
    return [_scored_row(job, BLEND, metrics, seconds), _scored_row(job, FOREST_PART, forest, None)]


def _scored_row(job: dict, model: str, metrics: dict, seconds: float | None) -> dict:
    """A result row from metrics with ``test`` and ``test_tuned_threshold`` (thresholds tuned on validation)."""
    scores, tuned = label_scores(metrics["test"], job["rare"]), label_scores(metrics["test_tuned_threshold"], job["rare"])
    thresholded = [k for k in METRICS if k.startswith(("precision", "recall", "f1"))]
    return {**{key: job[key] for key in ("dataset", "split_kind", "seed")}, "model": model, "oversample": "none",
            **{f"test_{k}": metrics["test"][k] for k in METRICS},
            **{f"tuned_{k}": metrics["test_tuned_threshold"][k] for k in thresholded},
            "test_f1_rare": scores["f1_rare"], "tuned_f1_rare": tuned["f1_rare"],
            "per_label_f1": scores["per_label_f1"], "seconds": seconds}


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


def paired(rows: list[dict], metric: str = "test_f1_rare") -> dict:
    """Per data set, the co-occurrence oversampler against each other setting, pair by pair (split, seed)."""
    frame = pd.DataFrame([r for r in rows if r["model"] == MODEL])
    out = {}
    for dataset, part in frame.groupby("dataset", sort=False):
        table = part.pivot_table(index=["split_kind", "seed"], columns="oversample", values=metric)
        out[dataset] = {}
        for other in (o for o in OVERSAMPLERS if o != OURS):
            if OURS not in table or other not in table:
                continue
            both = table[[OURS, other]].dropna()
            difference = both[OURS] - both[other]
            out[dataset][other] = {"pairs": int(len(difference)), "wins": int((difference > 0).sum()),
                                   "mean_difference": float(difference.mean()) if len(difference) else None,
                                   "std_difference": float(difference.std(ddof=0)) if len(difference) else None,
                                   "differences": {f"{kind}/seed{seed}": round(float(d), 4)
                                                   for (kind, seed), d in difference.items()}}
    return out


def per_label_table(rows: list[dict], rare: dict[str, list[str]]) -> dict:
    """Per data set and label: mean test F1 (threshold 0.5) over every split and seed, per setting."""
    out = {}
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        settings = {}
        for r in rows:
            if r["dataset"] == dataset:
                key = r["oversample"] if r["model"] == MODEL else r["model"]  # chemprop's and the tuned runs by name
                settings.setdefault(key, []).append(r["per_label_f1"])  # the baselines too
        labels = list(next(iter(settings.values()))[0])
        out[dataset] = {label: {"rare": label in rare[dataset],
                                **{key: _mean([f.get(label) for f in values]) for key, values in settings.items()}}
                        for label in labels}
    return out


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else value


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def goals(summary: pd.DataFrame, comparisons: dict) -> dict:
    """The issue's goals per data set: ROC-AUC (stratified, no oversampling) against its target and chemprop's,
    and the paired rare-label macro-F1 wins of the co-occurrence oversampler."""
    out = {}
    for dataset, part in summary.groupby("dataset", sort=False):
        stratified = part[part["split_kind"] == "stratified"].set_index(["model", "oversample"])
        roc = stratified["test_roc_auc"].get((MODEL, "none"))
        tuned = stratified["test_roc_auc"].get((TUNED, "none"))
        blend = stratified["test_roc_auc"].get((BLEND, "none"))
        ours = {name: float(value) for name, value in ((MODEL, roc), (TUNED, tuned), (BLEND, blend)) if value is not None}
        best = max(ours, key=ours.get) if ours else None
        peers = {name: float(stratified["test_roc_auc"][(name, "none")]) for name in CHEMPROPS
                 if (name, "none") in stratified.index}
        forest = stratified["test_roc_auc"].get(("forest", "none"))
        extra = stratified["test_roc_auc"].get((FOREST_PART, "none"))
        wins = comparisons.get(dataset, {})
        pairs_needed = {k: v["pairs"] for k, v in wins.items()}
        out[dataset] = {
            "roc_auc_stratified": None if roc is None else float(roc),
            "roc_auc_seeds": int(stratified["seeds"].get((MODEL, "none"), 0)),
            "tuned_roc_auc_stratified": None if tuned is None else float(tuned),
            "blend_roc_auc_stratified": None if blend is None else float(blend),
            "best_molgnn_model": best,
            "best_molgnn_roc_auc": ours.get(best),
            "roc_auc_goal": ROC_GOALS.get(dataset),
            "roc_auc_goal_met": None if best is None else bool(ours[best] >= ROC_GOALS.get(dataset, 1)),
            "chemprop_roc_auc_stratified": peers,
            "ahead_of_chemprop": None if best is None or not peers else all(ours[best] > v for v in peers.values()),
            "forest_roc_auc_stratified": None if forest is None else float(forest),
            "ahead_of_forest": None if best is None or forest is None else bool(ours[best] > forest),
            "blend_forest_alone_roc_auc_stratified": None if extra is None else float(extra),
            "blend_ahead_of_its_forest": None if blend is None or extra is None else bool(blend > extra),
            "rare_f1_wins": {k: f"{v['wins']}/{v['pairs']}" for k, v in wins.items()},
            "rare_f1_goal_met": None if not {"none", "mlsmote"} <= set(wins) else all(
                wins[k]["wins"] >= 0.8 * pairs_needed[k] for k in ("none", "mlsmote")),
        }
    return out


def markdown(summary: pd.DataFrame, comparisons: dict, labels: dict, config: dict, note: str) -> str:
    shown = ["test_roc_auc", "test_pr_auc", "test_f1_macro", "test_f1_rare", "tuned_f1_macro", "tuned_f1_rare",
             "train_mean_ir_before", "train_mean_ir", "train_scumble_before", "train_scumble", "seconds"]
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
                elif column.startswith("train_"):
                    cells.append(f"{value:.3f}")
                else:
                    cells.append(f"{value:.3f} ± {spread:.3f}")
            lines.append(f"| {row['model']} | {row['oversample']} | {row['seeds']} | " + " | ".join(cells) + " |")
        lines.append("")
    for dataset, against in comparisons.items():
        lines += [f"## {dataset}: paired rare-label macro-F1, {OURS} minus the other setting", "",
                  "| against | wins | mean ± std of the differences | per pair |", "|---|---|---|---|"]
        for other, c in against.items():
            if c["pairs"]:
                pairs = ", ".join(f"{k} {v:+.3f}" for k, v in c["differences"].items())
                lines.append(f"| {other} | {c['wins']}/{c['pairs']} | {c['mean_difference']:+.4f} ± "
                             f"{c['std_difference']:.4f} | {pairs} |")
        lines.append("")
    for dataset, table in labels.items():
        settings = [k for k in next(iter(table.values())) if k != "rare"]
        lines += [f"## {dataset}: test F1 per label (threshold 0.5, mean over splits and seeds; * rarest third)", "",
                  "| label | " + " | ".join(settings) + " |", "|---|" + "---|" * len(settings)]
        for label, values in table.items():
            cells = ["" if values[k] is None else f"{values[k]:.3f}" for k in settings]
            lines.append(f"| {label}{' *' if values['rare'] else ''} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Hyper-parameters: " + json.dumps({k: v for k, v in config.items() if k != "rows"}), ""]
    return "\n".join(lines)


def _header(column: str) -> str:
    return column.replace("test_", "").replace("train_", "train ").replace("_before", " before")


def plot(summary: pd.DataFrame, out: Path) -> list[str]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    names = [*OVERSAMPLERS, TUNED, *CHEMPROPS, *BASELINES.values(), BLEND, FOREST_PART]
    written = []
    for dataset, part in summary.groupby("dataset", sort=False):
        figure = Figure(figsize=(12, 4), layout="constrained")
        FigureCanvasAgg(figure)
        keys = [o if m == MODEL else m for m, o in zip(part["model"], part["oversample"])]
        for k, metric in enumerate(("test_f1_rare", "test_f1_macro", "test_roc_auc")):
            axes = figure.add_subplot(1, 3, k + 1)
            axes.bar(range(len(part)), part[metric], yerr=part[f"{metric}_std"], capsize=2,
                     color=[f"C{names.index(key)}" for key in keys])
            axes.set_xticks(range(len(part)), [f"{key}\n{kind}" for key, kind in zip(keys, part["split_kind"])],
                            rotation=90, fontsize=7)
            axes.set_title(f"{dataset}: {metric.replace('test_', 'test ')}, mean ± std over seeds", fontsize=9)
            low, high = np.nanmin(part[metric] - part[f"{metric}_std"]), np.nanmax(part[metric] + part[f"{metric}_std"])
            axes.set_ylim(max(0.0, low - 0.05), min(1.0, high + 0.03))
        figure.legend(handles=[Patch(color=f"C{k}", label=name) for k, name in enumerate(names)],
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
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel, one torch thread each (2)")
    parser.add_argument("--datasets", nargs="+", help="subset of the data sets (default sider tox21)")
    parser.add_argument("--splits", nargs="+", choices=("stratified", "scaffold"), help="subset of the splits (default both)")
    parser.add_argument("--seeds", type=int, help="number of seeds (default 5)")
    parser.add_argument("--chemprop-seeds", type=int, help="seeds of the chemprop references, stratified split (default 3)")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: report the runs of --work-dir that have finished (e.g. of an interrupted experiment)")
    parser.add_argument("--no-chemprop", action="store_true", help="leave the chemprop references out")
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    if args.datasets:
        config["datasets"] = tuple(args.datasets)
    if args.splits:
        config["splits"] = tuple(args.splits)
    if args.seeds:
        config["seeds"] = tuple(range(args.seeds))
    if args.chemprop_seeds is not None:
        config["chemprop_seeds"] = args.chemprop_seeds
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="molgnn-drug-effects-"))
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = work / "cache"
    started, commit = time.perf_counter(), git_commit()  # the code the runs start from

    molgnn_jobs, chemprop_jobs, baseline_jobs, rare, datasets = [], [], [], {}, {}
    chemprop_note = "skipped (--no-chemprop)" if args.no_chemprop else chemprop_unavailable()
    for name in config["datasets"]:
        csv = source_csv(name, args.data_dir, work / "data", (config["rows"] or {}).get(name))
        dataset = datasets[name] = load(csv, cache_dir)
        if not all(record.isdigit() for record in dataset.ids):
            raise AssertionError(f"expected the record ids of {name} to be its CSV row numbers")
        rare[name] = rare_labels(dataset)
        print(f"{name}: {len(dataset)} molecules, {len(dataset.targets)} labels, {len(dataset.rejects)} rejected, "
              f"{dataset.summary()['graphs_with_missing_descriptors']} with descriptors RDKit could not compute; "
              f"rarest third: {', '.join(rare[name])}", flush=True)
        for (kind, seed), split in splits_for(dataset, config["splits"], config["seeds"]).items():
            common = {"dataset": name, "csv": str(csv), "cache_dir": str(cache_dir), "split_kind": kind, "seed": seed,
                      "split": split, "epochs": config["epochs"][name], "batch_size": config["batch_size"],
                      "patience": config["patience"], "rare": rare[name]}
            folder = work / "runs" / name / kind / f"seed{seed}"
            baseline_jobs.append({**common, "run_dir": str(folder / "baselines")})
            for oversample in OVERSAMPLERS:
                molgnn_jobs.append({**common, "model": MODEL, "model_args": config["model_args"], "oversample": oversample,
                                    "run_dir": str(folder / f"{MODEL}-{oversample}")})
            tuned = CONFIGS / f"{name}.json"
            if kind == "stratified" and tuned.exists() and not args.quick:
                molgnn_jobs.append({**common, "model": TUNED, "oversample": "none", "config_file": str(tuned),
                                    "run_dir": str(folder / TUNED)})
            if chemprop_note is None and kind == "stratified" and seed < config["chemprop_seeds"]:
                chemprop_jobs += [{**common, "model": peer, "run_dir": str(folder / peer)} for peer in CHEMPROPS]

    import molgnn.train.trainer  # noqa: F401  (imported once here; the forked workers inherit it)

    finished = {"molgnn": [job for job in molgnn_jobs if (Path(job["run_dir"]) / "metrics.json").exists()],
                "chemprop": [job for job in chemprop_jobs if (Path(job["run_dir"]) / "time.json").exists()],
                "baselines": [job for job in baseline_jobs if (Path(job["run_dir"]) / "baselines.json").exists()]}
    if args.report_only:
        molgnn_jobs, chemprop_jobs, baseline_jobs = finished["molgnn"], finished["chemprop"], finished["baselines"]
    # how many runs this invocation found finished in --work-dir (a resumed experiment's wall time is not the protocol's)
    reused = {kind: len(jobs) for kind, jobs in finished.items()}
    rows = []
    # seed by seed, so that an experiment stopped early leaves whole (split, seed) pairs to compare
    jobs = sorted([(chemprop_run, job) for job in chemprop_jobs] + [(molgnn_run, job) for job in molgnn_jobs]
                  + [(baseline_run, job) for job in baseline_jobs], key=lambda item: item[1]["seed"])
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=_worker_init) as pool:
        futures = [pool.submit(function, job) for function, job in jobs]
        for k, future in enumerate(futures, 1):
            for row in future.result():
                rows.append(row)
                print(f"[{k}/{len(futures)}] {row['dataset']} {row['split_kind']} seed {row['seed']} {row['model']} "
                      f"{row['oversample']}: ROC-AUC {row['test_roc_auc']:.3f}, macro-F1 {row['test_f1_macro']:.3f}, "
                      f"rare-label macro-F1 {_or_nan(row['test_f1_rare']):.3f}, {row['seconds']:.0f} s", flush=True)
        # the blends, once the runs they start from are done
        blends = [{**job, "source_dir": job["run_dir"], "run_dir": str(Path(job["run_dir"]).parent / BLEND)}
                  for job in molgnn_jobs if job["model"] == MODEL and job["oversample"] == "none"
                  and (Path(job["run_dir"]) / "metrics.json").exists()]
        reused["blends"] = sum((Path(job["run_dir"]) / "metrics.json").exists() for job in blends)
        if args.report_only:
            blends = [job for job in blends if (Path(job["run_dir"]) / "metrics.json").exists()]
        for k, rows_of_job in enumerate(pool.map(blend_run, blends), 1):
            rows.extend(rows_of_job)
            row = rows_of_job[0]
            print(f"[blend {k}/{len(blends)}] {row['dataset']} {row['split_kind']} seed {row['seed']}: "
                  f"ROC-AUC {row['test_roc_auc']:.3f}, {row['seconds']:.0f} s", flush=True)
    summary = aggregate(rows)
    comparisons = paired(rows)
    labels = per_label_table(rows, rare)
    wall = time.perf_counter() - started
    note = (f"{'Quick mode: subsets ' + json.dumps(config['rows']) + ', ' if args.quick else ''}"
            f"{'Report of the finished runs only (--report-only), ' if args.report_only else ''}"
            f"chemprop: {chemprop_note or 'chemprop 2 CLI, defaults, and with v1_rdkit_2d_normalized'}; "
            f"wall time {wall:.0f} s with {args.jobs} parallel run(s); {sum(reused.values())} run(s) found finished in "
            f"the work folder and not repeated.")
    report = markdown(summary, comparisons, labels, config, note)
    (out / "drug_effects.md").write_text(report)
    result = {"benchmark": "drug_effects", "quick": args.quick, "commit": commit, "runs": len(rows), "reused_runs": reused,
              "wall_s": round(wall, 1),
              "jobs": args.jobs, "chemprop": chemprop_note or "ok", "goals": goals(summary, comparisons),
              "report": str(out / "drug_effects.md"), "figures": plot(summary, out)}
    (out / "drug_effects.json").write_text(json.dumps({**result, "config": {k: v for k, v in config.items() if k != "rows"},
                                                       "rare_labels": rare, "paired_rare_f1": comparisons,
                                                       "paired_macro_f1": paired(rows, "test_f1_macro"),
                                                       "per_label_f1": labels, "summary": summary.to_dict(orient="records"),
                                                       "runs": rows}, default=float, indent=1))
    print(report)
    print(json.dumps(result, default=float))
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
