"""Figures of a run: learning curves, ROC curves and parity plots, each written to a PNG.

Figures are built as ``matplotlib.figure.Figure`` objects drawn by the Agg canvas, not through
``pyplot``: no global backend is chosen and no figure is left open, so these functions are safe
in a notebook, in a headless training job and in worker processes alike. NaN entries are
skipped (a missing label, or an epoch without validation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import roc_auc_score, roc_curve

from molgnn.train.metrics import regression_metrics


def learning_curves(history: Sequence[Mapping[str, float]], path: str | Path, metric: str | None = None) -> Path:
    """Training and validation loss per epoch, and the validation metric per epoch.

    Each entry of ``history`` is one epoch, e.g. ``{"epoch": 3, "train_loss": 0.41, "val_loss":
    0.45, "val_roc_auc": 0.81}``; ``epoch`` defaults to the entry's position (from 1). ``metric``
    names the key to plot on the right; by default the first ``val_*`` key other than ``val_loss``.
    """
    epochs = [entry.get("epoch", k + 1) for k, entry in enumerate(history)]
    if metric is None:
        metric = next((key for entry in history for key in entry if key.startswith("val_") and key != "val_loss"), None)
    figure = Figure(figsize=(10, 4) if metric else (5, 4), layout="constrained")
    axes = figure.subplots(1, 2 if metric else 1, squeeze=False)[0]
    for key, style in (("train_loss", "-"), ("val_loss", "--")):
        _plot_series(axes[0], epochs, [entry.get(key, math.nan) for entry in history], style, key)
    axes[0].set(xlabel="epoch", ylabel="loss", title="loss")
    if axes[0].lines:
        axes[0].legend()
    if metric:
        _plot_series(axes[1], epochs, [entry.get(metric, math.nan) for entry in history], "-", metric)
        axes[1].set(xlabel="epoch", ylabel=metric, title=metric)
    return _save(figure, path)


def roc_curves(y_true: np.ndarray, y_prob: np.ndarray, label_names: Sequence[str], path: str | Path,
               max_labels: int = 12) -> Path:
    """ROC curves of up to ``max_labels`` labels (those with both classes observed, in order), each in its
    own colour, the legend beside the axes."""
    return _save(roc_figure(y_true, y_prob, label_names, max_labels), path)


def roc_figure(y_true: np.ndarray, y_prob: np.ndarray, label_names: Sequence[str], max_labels: int = 12) -> Figure:
    """The figure of ``roc_curves``."""
    y_true, y_prob = _as_columns(y_true), _as_columns(y_prob)
    figure = Figure(figsize=(9, 6), layout="constrained")
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], ":", color="grey", linewidth=1)
    scorable = []
    for j, name in enumerate(label_names):
        keep = ~np.isnan(y_true[:, j]) & ~np.isnan(y_prob[:, j])
        if 0 < y_true[keep, j].sum() < keep.sum():
            scorable.append((name, y_true[keep, j], y_prob[keep, j]))
    colours = colormaps["tab20"].colors  # 20 distinct colours; the default cycle repeats after 10
    for k, (name, truth, prob) in enumerate(scorable[:max_labels]):
        false_positive, true_positive, _ = roc_curve(truth, prob)
        axes.plot(false_positive, true_positive, linewidth=1.2, color=colours[k % len(colours)],
                  linestyle=("-", "--", ":")[k // len(colours) % 3], label=f"{name} ({roc_auc_score(truth, prob):.3f})")
    shown = min(len(scorable), max_labels)
    title = "ROC" if shown == len(label_names) else f"ROC ({shown} of {len(label_names)} labels)"
    if scorable:  # beside the axes, so that it covers no curve
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), title="label (AUC)")
    else:
        axes.text(0.5, 0.5, "no label has both classes observed", ha="center", va="center")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title=title, xlim=(0, 1), ylim=(0, 1.02))
    return figure


def parity_plots(y_true: np.ndarray, y_pred: np.ndarray, target_names: Sequence[str], units: Mapping[str, str],
                 path: str | Path) -> Path:
    """Predicted against true values, one panel per target, with the y = x line; MAE and R² in titles."""
    y_true, y_pred = _as_columns(y_true), _as_columns(y_pred)
    y_true = np.where(np.isnan(y_pred), np.nan, y_true)  # a pair lacking either value is skipped
    scores = regression_metrics(y_true, y_pred, target_names)["per_target"]
    columns = min(len(target_names), 4)
    rows = math.ceil(len(target_names) / columns)
    figure = Figure(figsize=(3.6 * columns, 3.6 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for j, name in enumerate(target_names):
        keep = ~np.isnan(y_true[:, j])
        truth, guess = y_true[keep, j], y_pred[keep, j]
        unit = f" ({units[name]})" if units.get(name) else ""
        axes[j].scatter(truth, guess, s=6, alpha=0.5, linewidths=0)
        if keep.any():
            low, high = min(truth.min(), guess.min()), max(truth.max(), guess.max())
            axes[j].plot([low, high], [low, high], "-", color="grey", linewidth=1)
        axes[j].set(xlabel=f"true{unit}", ylabel=f"predicted{unit}",
                    title=f"{name}\nMAE {_format(scores[name]['mae'])}, R² {_format(scores[name]['r2'])}")
    for unused in axes[len(target_names):]:
        unused.set_visible(False)
    return _save(figure, path)


def _plot_series(axes, epochs: list, values: list, style: str, label: str) -> None:
    values = np.asarray(values, dtype=float)
    keep = ~np.isnan(values)
    if keep.any():
        axes.plot(np.asarray(epochs)[keep], values[keep], style, marker=".", label=label)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def _as_columns(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[:, None] if values.ndim == 1 else values


def _format(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)  # attaches itself to the figure
    figure.savefig(path, dpi=110)
    return path
