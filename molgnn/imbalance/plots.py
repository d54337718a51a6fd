"""Figures of label imbalance: label frequencies (one or more label sets side by side) and co-occurrence.

Built as ``matplotlib.figure.Figure`` objects drawn by the Agg canvas, never through ``pyplot``,
so they are safe in notebooks, headless jobs and worker processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from molgnn.imbalance.measures import ImbalanceReport


def label_frequencies(reports: Mapping[str, ImbalanceReport], path: str | Path) -> Path:
    """Share of positives among the observed labels, per label, sorted by the first report's share.

    Several reports (e.g. ``{"before": ..., "after": ...}``) are drawn as grouped bars on a log scale.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    first = next(iter(reports.values()))
    share = {name: r.positives / np.maximum(r.observed, 1) for name, r in reports.items()}
    order = np.argsort(share[next(iter(reports))], kind="stable")  # barh draws bottom-up: the most frequent on top
    n_labels = len(first.label_names)
    named = n_labels <= 80
    figure = Figure(figsize=(8.0, min(max(3.0, 0.22 * n_labels + 1.2), 20.0) if named else 6.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    height = 0.8 / len(reports)
    positions = np.arange(n_labels)
    for k, (name, values) in enumerate(share.items()):
        report = reports[name]
        axes.barh(positions + 0.4 - (k + 0.5) * height, np.maximum(values[order], 1e-4), height,
                  label=f"{name}: MeanIR {report.mean_ir:.2f}, SCUMBLE {report.mean_scumble:.3f}")
    axes.set_xscale("log")
    axes.set_xlabel("positives / observed")
    if named:
        axes.set_yticks(positions, [first.label_names[j] for j in order], fontsize=7 if n_labels > 30 else 8)
    else:
        axes.set_ylabel(f"{n_labels} labels, sorted by frequency")
    axes.set_ylim(-0.6, n_labels - 0.4)
    figure.legend(fontsize=8, loc="outside upper center")
    figure.savefig(path, dpi=120)
    return Path(path)


def co_occurrence(report: ImbalanceReport, path: str | Path) -> Path:
    """Heat map of P(column label positive | row label positive) over samples observing both."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = report.co_occurrence().to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        conditional = counts / np.diag(counts)[:, None]
    n_labels = len(report.label_names)
    size = min(max(5.0, 0.3 * n_labels + 2), 14.0)
    figure = Figure(figsize=(size + 1, size), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(conditional, vmin=0, vmax=1, cmap="viridis")
    figure.colorbar(image, ax=axes, label="P(column | row)")
    if n_labels <= 60:
        fontsize = 6 if n_labels > 20 else 8
        axes.set_xticks(range(n_labels), report.label_names, rotation=90, fontsize=fontsize)
        axes.set_yticks(range(n_labels), report.label_names, fontsize=fontsize)
    axes.set_title("label co-occurrence")
    figure.savefig(path, dpi=120)
    return Path(path)
