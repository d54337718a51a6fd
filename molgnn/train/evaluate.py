"""Predictions over a loader, validation monitors, and the metrics and plots of a finished run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from molgnn.data.splits import Split
from molgnn.models.forest_blend import ForestBlend
from molgnn.tasks import is_classification
from molgnn.train import checkpoint, plots
from molgnn.train.baselines import regression_baselines
from molgnn.train.loader import expanded_batches
from molgnn.train.metrics import classification_metrics, regression_metrics, tune_thresholds
from molgnn.train.targets import TargetScaler, masked_loss, to_predictions


@torch.no_grad()
def predict_batches(model, loader, task: str, scaler: TargetScaler, device,
                    loss: str = "auto") -> tuple[np.ndarray, np.ndarray, float]:
    """``(y_true, y_pred, mean loss)`` over a loader (``loss`` as in ``masked_loss``); NaN where a label is missing.

    ``y_pred`` holds probabilities (classification) or values in the targets' units (regression).
    """
    model.eval()
    truths, outputs, total, count = [], [], 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        output = model(batch)
        if "y" in batch:
            total += float(masked_loss(task, output, scaler.scale(batch.y), batch.y_mask, loss=loss)) * batch.num_graphs
            truths.append(batch.y.cpu())
        count += batch.num_graphs
        outputs.append(to_predictions(task, output, scaler).cpu())
    y_true = torch.cat(truths).numpy() if truths else np.empty((0, 0))
    y_pred = torch.cat(outputs).numpy() if outputs else np.empty((0, 0))
    return y_true, y_pred, total / max(count, 1)


def monitor_value(name: str, task: str, y_true: np.ndarray, y_pred: np.ndarray, loss: float,
                  scaler: TargetScaler) -> float:
    """The early-stopping metric; ``mae`` is scaled by each target's std and averaged over targets."""
    if name == "loss":
        return loss
    if name in ("roc_auc", "pr_auc"):
        value = classification_metrics(y_true, y_pred, [str(i) for i in range(y_true.shape[1])])[name]
        return float("nan") if value is None else float(value)
    errors = np.abs(y_pred - y_true) / scaler.target_std.numpy()
    return float(np.nanmean(np.nanmean(errors, axis=0)))


def evaluate(run: checkpoint.Run, dataset, indices=None, batch_size: int = 64, device="cpu",
             thresholds: np.ndarray | float | None = None) -> dict:
    """Metrics of a loaded run on ``dataset`` (or the subset ``indices``)."""
    subset = dataset if indices is None else dataset[torch.as_tensor(indices)]
    y_true, y_pred, loss = predict_batches(run.model, expanded_batches(subset, batch_size), run.task,
                                           run.scaler, device)
    return _metrics(run, y_true, y_pred, loss, thresholds)


def _metrics(run, y_true, y_pred, loss, thresholds) -> dict:
    """The metrics, and for classification which decision threshold the thresholded ones use (``"threshold"``:
    ``"0.5"``, ``"tuned on val"`` for the run's tuned thresholds, or ``"given"``)."""
    if not is_classification(run.task):
        return {"loss": loss, "n": int(len(y_true)), **regression_metrics(y_true, y_pred, run.targets)}
    if thresholds is None:
        used = "tuned on val" if "thresholds" in run.info else "0.5"
        thresholds = np.asarray(run.info.get("thresholds", 0.5))
    else:
        used = "0.5" if np.isscalar(thresholds) and float(thresholds) == 0.5 else "given"
    return {"loss": loss, "n": int(len(y_true)), "threshold": used,
            **classification_metrics(y_true, y_pred, run.targets, thresholds=thresholds)}


def evaluate_split(run: checkpoint.Run, dataset, split: Split, run_dir: Path, history: list[dict],
                   batch_size: int, device) -> dict:
    """Validation and test metrics of the best model, the tuned thresholds, and the run's plots; for a model blended
    with a forest, ``test_parts``: the test metrics of its network alone and of its forest alone (threshold 0.5; for
    classification also ``test_parts_tuned_threshold``, each part's thresholds tuned on validation), and
    ``blend_network_weight``, the network's share."""
    results, arrays = {}, {}
    for name, indices in (("val", split.val), ("test", split.test)):
        if not len(indices):
            continue
        subset = dataset[torch.as_tensor(indices)]
        arrays[name] = predict_batches(run.model, expanded_batches(subset, batch_size), run.task,
                                       run.scaler, device)
    plot_dir = run_dir / "plots"
    plot_dir.mkdir(exist_ok=True)
    plots.learning_curves(history, plot_dir / "learning_curves.png")
    if is_classification(run.task):
        tuned = tune_thresholds(arrays["val"][0], arrays["val"][1])
        run.info["thresholds"] = tuned.tolist()
        checkpoint.save_info(run_dir, {k: v for k, v in run.info.items() if k not in ("format", "molgnn_version")})
        for name, (y_true, y_pred, loss) in arrays.items():
            results[name] = _metrics(run, y_true, y_pred, loss, 0.5)
            results[f"{name}_tuned_threshold"] = {**_metrics(run, y_true, y_pred, loss, tuned), "threshold": "tuned on val"}
        shown = arrays.get("test", arrays["val"])
        plots.roc_curves(shown[0], shown[1], run.targets, plot_dir / "roc.png")
    else:
        for name, (y_true, y_pred, loss) in arrays.items():
            results[name] = _metrics(run, y_true, y_pred, loss, None)
        shown = arrays.get("test", arrays["val"])
        plots.parity_plots(shown[0], shown[1], run.targets, run.info.get("units", {}), plot_dir / "parity.png")
        if len(split.test):
            results["test_baselines"] = regression_baselines(dataset, split)
    if isinstance(run.model, ForestBlend) and len(split.test):
        results.update(_part_metrics(run, dataset, split, batch_size, device))
    results["best_epoch"] = run.info.get("best_epoch")
    results["epochs_run"] = len(history)
    return json.loads(json.dumps(results, default=float))


def _part_metrics(run: checkpoint.Run, dataset, split: Split, batch_size: int, device) -> dict:
    """The test metrics of each member of a forest blend alone (see ``evaluate_split``)."""
    parts, tuned = {}, {}
    test_graphs = dataset[torch.as_tensor(split.test)]
    val_graphs = dataset[torch.as_tensor(split.val)] if len(split.val) else None
    for name, part in run.model.members().items():
        test = predict_batches(part, expanded_batches(test_graphs, batch_size), run.task, run.scaler, device)
        parts[name] = _metrics(run, *test, 0.5 if is_classification(run.task) else None)
        if is_classification(run.task) and len(split.val):
            val = predict_batches(part, expanded_batches(val_graphs, batch_size), run.task, run.scaler, device)
            tuned[name] = {**_metrics(run, *test, tune_thresholds(val[0], val[1])), "threshold": "tuned on val"}
    return {"test_parts": parts, **({"test_parts_tuned_threshold": tuned} if tuned else {}),
            "blend_network_weight": run.model.weight}
