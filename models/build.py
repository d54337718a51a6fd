"""Build a shipped pretrained model: train it as its manifest says, ship compact weights, measure them, write its card.

    python models/build.py co2-crafted726 [--data-dir ../shared/data] [--work runs/pretrained]

``models/<name>/model.toml`` names the data set, its loader options and the ``molgnn train``
arguments (always a ``--folds K`` ensemble, so that every record is predicted once by a member that
never saw it). The build:

1. trains the ensemble into ``WORK/<name>`` (resumable: a finished member is not trained again);
2. ships it into ``models/<name>``: per member ``run.json``, ``weights.pt``, ``SHA256SUMS`` and
   ``domain.json``, with the weights' parameters stored as float16 (half the size; the model
   computes in float32 as before) and the checksums rewritten;
3. measures the shipped weights through the prediction path a user has (``molgnn.screen.predict``
   on each member's own test fold): per member test metrics, their mean and std, the out-of-fold
   metrics of all records, and on the same folds the baselines a scientist would try (the mean of
   the training labels, and a random forest on the same global descriptors); writes ``card.json``;
4. writes the model card ``README.md`` from ``model.toml``, ``card.json``, the run folders and the
   data set's card (licence).

``--card-only`` redoes steps 3-4 for the shipped folder, ``--readme-only`` step 4 (after editing
``model.toml``). ``tests/train/test_pretrained.py`` checks that a shipped member reproduces its
card's test metrics.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import torch

MODELS = Path(__file__).resolve().parent
SHIPPED = ("run.json", "weights.pt", "SHA256SUMS", "domain.json")
FOREST_TREES = 300


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="a folder of models/ with a model.toml")
    parser.add_argument("--data-dir", help="folder of the registered datasets' files (default: $MOLGNN_DATA_DIR)")
    parser.add_argument("--work", default="runs/pretrained", help="where the ensemble trains (default runs/pretrained)")
    parser.add_argument("--card-only", action="store_true", help="measure the shipped folder and rewrite its card")
    parser.add_argument("--readme-only", action="store_true", help="rewrite README.md from model.toml and card.json")
    args = parser.parse_args(argv)
    folder = MODELS / args.name
    manifest = tomllib.loads((folder / "model.toml").read_text())
    if args.readme_only:
        (folder / "README.md").write_text(model_card(args.name, manifest, json.loads((folder / "card.json").read_text())))
        return 0
    if not args.card_only:
        work = Path(args.work) / args.name
        command = train_command(manifest, work, args.data_dir)
        print("+", shlex.join(command), flush=True)
        subprocess.run(command, check=True)
        ship(work, folder)
    card = measure(folder, manifest, args.data_dir)
    (folder / "card.json").write_text(json.dumps(card, indent=1) + "\n")
    (folder / "README.md").write_text(model_card(args.name, manifest, card))
    print(json.dumps({"model": args.name, "headline": card["headline"], "size_bytes": card["size_bytes"]}))
    return 0


def train_command(manifest: dict, out: Path, data_dir: str | None = None) -> list[str]:
    options = [part for key, value in manifest.get("options", {}).items()
               for part in ("--option", f"{key}={json.dumps(value, separators=(',', ':'))}")]
    where = ["--data-dir", data_dir] if data_dir else []
    return ["molgnn", "train", manifest["dataset"], *options, *manifest["train"], *where, "--out", str(out)]


def ship(work: Path, folder: Path) -> None:
    """Copy the ensemble's prediction files into ``folder``, with float16 parameters."""
    members = json.loads((work / "ensemble.json").read_text())["members"]
    for old in folder.glob("member*"):
        shutil.rmtree(old)
    for member in members:
        (folder / member).mkdir()
        for name in SHIPPED:
            shutil.copy2(work / member / name, folder / member / name)
        half_parameters(folder / member)
    shutil.copy2(work / "ensemble.json", folder / "ensemble.json")


def half_parameters(run_dir: Path) -> None:
    """Store the model's floating-point parameters as float16 (buffers such as descriptor scalers stay
    float32); ``load_state_dict`` copies them into the float32 model. Rewrites the checksums."""
    from molgnn.train.checkpoint import INFO, WEIGHTS, load_run, save_info

    parameters = {name for name, _ in load_run(run_dir).model.named_parameters()}
    state = torch.load(run_dir / WEIGHTS, weights_only=True)
    state = {k: v.half() if k in parameters and v.is_floating_point() else v for k, v in state.items()}
    torch.save(state, run_dir / WEIGHTS)
    info = json.loads((run_dir / INFO).read_text())
    info["weights_sha256"] = hashlib.sha256((run_dir / WEIGHTS).read_bytes()).hexdigest()
    info["weights_storage"] = "float16 parameters"
    save_info(run_dir, info)


def measure(folder: Path, manifest: dict, data_dir: str | None) -> dict:
    """``card.json``: the shipped members' test metrics, out-of-fold metrics and the baselines on the same folds."""
    from molgnn.data.build import load_dataset
    from molgnn.tasks import is_classification
    from molgnn.train.checkpoint import load_run
    from molgnn.train.domain import read_domain
    from molgnn.train.ensemble import ensemble_members
    from molgnn.train.metrics import task_metrics
    from molgnn.train.pretrained import member_test_metrics

    members = ensemble_members(folder)
    runs = [load_run(member) for member in members]
    first = runs[0]
    classification = is_classification(first.task)
    tested, truths, predictions, folds = [], [], [], []
    for member, run in zip(members, runs):
        metrics, y_true, y_pred = member_test_metrics(member, manifest["dataset"], manifest.get("options"), data_dir,
                                                      workers=2)
        tested.append(metrics)
        truths.append(y_true)
        predictions.append(y_pred)
        folds.append(run.info["split"])
    y_true, y_pred = np.concatenate(truths), np.concatenate(predictions)
    thresholds = np.mean([np.asarray(run.info.get("thresholds", 0.5)) for run in runs], axis=0)
    dataset = load_dataset(manifest["dataset"], data_dir, featurizer=first.featurizer, options=manifest.get("options"),
                           progress=False)
    baselines = _baselines(dataset, folds, first.targets, classification, thresholds)
    scores = ("roc_auc", "pr_auc", "f1_macro") if classification else ("mae", "rmse", "r2")
    out_of_fold = task_metrics(first.task, y_true, y_pred, first.targets, thresholds)
    domain = read_domain(members[0])
    for member in members[1:]:
        domain = domain.union(read_domain(member))
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and path.name != "README.md")
    return {
        "name": folder.name, "kind": first.featurizer.kind, "task": first.task, "targets": first.targets,
        "units": first.info.get("units", {}),
        "dataset": manifest["dataset"], "options": manifest.get("options", {}), "records": int(len(y_true)),
        "members": len(members), "model": first.info["model"], "featurizer": first.info["featurizer"],
        "train_config": first.info["train_config"], "thresholds": [float(t) for t in np.atleast_1d(thresholds)],
        "headline": {score: out_of_fold[score] for score in scores},
        "member_test": [_short(m, scores) for m in tested],
        "member_mean": {s: float(np.mean([m[s] for m in tested])) for s in scores},
        "member_std": {s: float(np.std([m[s] for m in tested])) for s in scores},
        "out_of_fold": out_of_fold, "baselines": baselines,
        "domain": {"elements": sorted(domain.elements), "atoms": list(domain.atoms),
                   "descriptors": len(domain.descriptor_names)},
        "size_bytes": size, "molgnn_version": first.info.get("molgnn_version"), "commit": _commit(),
        "build": shlex.join(["python", "models/build.py", folder.name]),
        "train": shlex.join(train_command(manifest, Path("runs/pretrained") / folder.name)),
    }


def _short(metrics: dict, scores: tuple) -> dict:
    return {"n": metrics["n"], **{s: metrics[s] for s in scores}}


def _baselines(dataset, folds: list[dict], targets: list[str], classification: bool, thresholds) -> dict:
    """Out-of-fold metrics, on the members' folds, of the training-label mean and of a random forest on the descriptors."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    from molgnn.train.metrics import task_metrics

    position = {record_id: i for i, record_id in enumerate(dataset.ids)}
    y = dataset.labels.double().numpy()[:, [dataset.targets.index(t) for t in targets]]
    features = dataset.descriptors.double().numpy() if dataset.descriptors is not None else None
    guesses = {"mean of the training labels": [], "random forest on the descriptors": []}
    truth = []
    for member, split in enumerate(folds):
        fit = np.array([position[i] for i in split["train"] + split["val"]])
        test = np.array([position[i] for i in split["test"]])
        truth.append(y[test])
        guesses["mean of the training labels"].append(np.tile(np.nanmean(y[fit], axis=0), (len(test), 1)))
        if features is None:
            continue
        columns = []
        for j in range(y.shape[1]):
            rows = fit[np.isfinite(y[fit, j])]
            if classification:
                forest = RandomForestClassifier(FOREST_TREES, n_jobs=2, random_state=member, class_weight="balanced")
                forest.fit(features[rows], y[rows, j])
                columns.append(forest.predict_proba(features[test])[:, list(forest.classes_).index(1.0)])
            else:
                forest = RandomForestRegressor(FOREST_TREES, n_jobs=2, random_state=member)
                columns.append(forest.fit(features[rows], y[rows, j]).predict(features[test]))
        guesses["random forest on the descriptors"].append(np.stack(columns, axis=1))
    truth = np.concatenate(truth)
    scores = ("roc_auc", "pr_auc", "f1_macro") if classification else ("mae", "rmse", "r2")
    result = {}
    for name, parts in guesses.items():
        if parts:
            metrics = task_metrics(dataset.task, truth, np.concatenate(parts), targets)
            result[name] = {s: metrics[s] for s in scores}
    return result


def _commit() -> str | None:
    """The checked-out commit, marked when the package's code differs from it (a build from uncommitted code)."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=MODELS, capture_output=True, text=True,
                              check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "molgnn"], cwd=MODELS.parent,
                                 capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head} with uncommitted changes to molgnn/" if changed else head


def model_card(name: str, manifest: dict, card: dict) -> str:
    from molgnn.chem import elements
    from molgnn.data.cards import get_card

    data = get_card(card["dataset"])
    scores = list(card["headline"])
    targets = ", ".join(f"`{t}` ({card['units'][t]})" if card["units"].get(t) else f"`{t}`" for t in card["targets"])
    lines = [f"# {name}", "", manifest["summary"], "",
             "*Generated by `models/build.py` from the shipped run folders; do not edit by hand.*", "",
             "## Use", "", "```bash", f"molgnn predict {name} INPUT --out predictions.csv",
             f"molgnn screen {name} LIBRARY --out ranked.parquet --top 100", "```", "",
             "```python", "from molgnn.api import GNNEstimator",
             f'model = GNNEstimator.pretrained("{name}")   # predict / predict_proba: mean; predict_std: spread',
             "```", "",
             f"Predicts {targets} ({card['task']}). The output holds per target the mean over the "
             f"{card['members']} members and their standard deviation, and a `domain` column that says `inside` "
             "for inputs inside the training domain and why not otherwise (see below).", "",
             "## Data and licence", "",
             f"`{card['dataset']}`: {data.title}; loader options {json.dumps(card['options'])}, "
             f"{card['records']} records after featurization. {data.source}", "", f"Licence of the data: {data.licence}",
             "", f"Cite: {data.citation}", "",
             "## Model", "",
             f"`{card['model']['name']}` with {json.dumps(card['model']['args'])}; featurizer "
             f"{json.dumps(card['featurizer'])}.", "",
             f"{card['members']}-fold cross-validation ensemble: member *i* is tested on fold *i* and trained on "
             "the others (10 % of them validate for early stopping). Parameters are stored as float16 "
             f"(computed in float32); {card['size_bytes'] / 1e6:.2f} MB in all.", "",
             "## Test metrics", "",
             "Measured on the shipped weights through `molgnn.screen.predict`, every record predicted by the "
             "member that never saw it (out of fold), next to the baselines on the same folds:", "",
             "| | " + " | ".join(scores) + " |", "|---|" + "---|" * len(scores),
             "| this model, out of fold | " + " | ".join(f"{card['headline'][s]:.3f}" for s in scores) + " |",
             "| members on their test folds, mean ± std | " + " | ".join(
                 f"{card['member_mean'][s]:.3f} ± {card['member_std'][s]:.3f}" for s in scores) + " |"]
    for baseline, values in card["baselines"].items():
        lines.append(f"| {baseline} | " + " | ".join(f"{values[s]:.3f}" for s in scores) + " |")
    per = card["out_of_fold"].get("per_target") or card["out_of_fold"].get("per_label")
    keys = [s for s in ("mae", "r2", "roc_auc", "f1", "threshold", "n_positive") if s in next(iter(per.values()))]
    lines += ["", "Per target, out of fold:", "", "| target | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for target, values in per.items():
        lines.append(f"| {target} | " + " | ".join("-" if values[k] is None else f"{values[k]:.3f}"
                                                  if isinstance(values[k], float) else str(values[k]) for k in keys) + " |")
    symbols = ", ".join(elements.symbol(z) for z in card["domain"]["elements"])
    lines += ["", "## Applicability domain", "",
              f"Elements seen in training: {symbols}. Atoms per input: {card['domain']['atoms'][0]}-"
              f"{card['domain']['atoms'][1]}" + (" (heavy atoms)" if card["kind"] == "molecules" else "") +
              f"; {card['domain']['descriptors']} global descriptors with their training ranges "
              "(`member*/domain.json`). A prediction for an input with another element, or an atom count or a "
              "descriptor more than 10 % of the training range outside it, is flagged in the `domain` column: "
              "an extrapolation, to be trusted less. The featurizer refuses what it cannot read (rows with "
              "a status other than `ok` and a reason): " + manifest["refuses"], "",
              "## Intended use and known limits", "", manifest["intended_use"], "", manifest["limits"], "",
              "## Reproduce", "", "```bash", card["build"], "```", "", "which runs", "", "```bash", card["train"],
              "```", "", f"Built with molgnn {card['molgnn_version']} at commit `{card['commit']}`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
