"""Imbalance reports on disk: per-label tables (CSV), summaries (JSON, Markdown) and figures."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from molgnn.imbalance import plots
from molgnn.imbalance.measures import ImbalanceReport

SUMMARY_COLUMNS = ("n_samples", "mean_ir", "max_ir", "cvir", "mean_scumble", "cardinality", "density")


def write_reports(reports: Mapping[str, ImbalanceReport], folder: str | Path) -> dict[str, Path]:
    """Write ``imbalance_<name>.csv`` and ``co_occurrence_<name>.png`` per report, plus
    ``imbalance.json``, ``imbalance.md`` and ``label_frequencies.png`` comparing them all."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, report in reports.items():
        written[f"table_{name}"] = folder / f"imbalance_{name}.csv"
        report.table().to_csv(written[f"table_{name}"])
        written[f"co_occurrence_{name}"] = plots.co_occurrence(report, folder / f"co_occurrence_{name}.png")
    written["label_frequencies"] = plots.label_frequencies(reports, folder / "label_frequencies.png")
    written["json"] = folder / "imbalance.json"
    written["json"].write_text(json.dumps({name: report.to_dict() for name, report in reports.items()}, indent=1))
    written["markdown"] = folder / "imbalance.md"
    written["markdown"].write_text(markdown_table(reports))
    return written


def markdown_table(reports: Mapping[str, ImbalanceReport]) -> str:
    """One row per report with its summary measures."""
    lines = ["| set | " + " | ".join(SUMMARY_COLUMNS) + " |", "|---" * (len(SUMMARY_COLUMNS) + 1) + "|"]
    for name, report in reports.items():
        values = report.to_dict()
        cells = [f"{values[key]:.4g}" if isinstance(values[key], float) else str(values[key]) for key in SUMMARY_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
