"""What a campaign found, written as it runs: ``history.csv``, ``summary.json`` and ``discovery.png`` in its folder.

``history.csv`` has a row per oracle call in the order picked: the batch, the surrogate version and
acquisition score that picked it, the oracle's status, value and reason, and the best value found
so far. Where the oracle is a lookup table, every candidate's true value is known, so the history
also counts the candidates of the pool's top set found so far (the best ``top_fraction`` of the pool,
at least one) and the plot shows that fraction next to the best value found.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from molgnn.atomic import atomic_write_text


def truth(config, pool) -> dict[str, float] | None:
    """Every pool candidate's value, where the oracle is a lookup table (else None)."""
    if config.oracle.get("kind") != "lookup":
        return None
    from molgnn.campaign.tasks import cached_oracle

    table = cached_oracle(config.oracle).values
    return {c: float(table[c]) for c in pool.ids if c in table and math.isfinite(float(table[c]))}


def top_set(values: dict[str, float], fraction: float, maximize: bool) -> set[str]:
    """The best ``ceil(fraction * n)`` candidates of ``values``."""
    ranked = sorted(values, key=values.get, reverse=maximize)
    return set(ranked[: max(1, math.ceil(fraction * len(ranked)))])


def history(config, state, known: dict[str, float], true_values: dict[str, float] | None) -> pd.DataFrame:
    rows, best = [], None
    better = max if config.maximize else min
    for value in known.values():
        best = value if best is None else better(best, value)
    top = top_set(true_values, config.top_fraction, config.maximize) if true_values else None
    found = sum(1 for c in known if top and c in top)
    for call, pick in enumerate(state.picks, 1):
        result = state.results.get(pick["candidate"], {})
        status = result.get("status", "pending")
        value = result.get("value")
        if status == "ok":
            best = value if best is None else better(best, value)
            found += int(bool(top) and pick["candidate"] in top)
        row = {"call": call, "candidate": pick["candidate"], "batch": pick["batch"], "surrogate": pick["surrogate"],
               "score": pick["score"], "status": status, "value": value, "reason": result.get("reason", ""),
               "seconds": result.get("seconds"), "best_so_far": best}
        if top:
            row["top_found"] = found
            row["top_fraction_found"] = found / len(top)
        rows.append(row)
    return pd.DataFrame(rows)


def write(folder: str | Path, config, state, pool, known: dict[str, float], wall_seconds: float | None = None,
          busy_seconds: float | None = None, span_seconds: float | None = None) -> dict:
    """Write the history, the summary and the discovery curve; returns the summary.

    With the times of a run: ``oracle_busy_fraction`` is the time the oracle workers spent in calls
    over ``workers x wall_seconds`` (the run's wall time, start-up included), and
    ``oracle_busy_fraction_of_span`` the same over the span from the start of the first call (as the
    worker measured it) to the last result.
    """
    folder = Path(folder)
    true_values = truth(config, pool)
    table = history(config, state, known, true_values)
    atomic_write_text(folder / "history.csv", table.to_csv(index=False))
    statuses = table["status"].value_counts().to_dict() if len(table) else {}
    done = table[table["status"] == "ok"] if len(table) else table
    best_row = None
    if len(done):
        best_row = done.loc[done["value"].idxmax() if config.maximize else done["value"].idxmin()]
    summary = {"calls": int(len(table)), "budget": config.budget, "status": {k: int(v) for k, v in statuses.items()},
               "given_results": len(known), "acquisition": config.acquisition, "surrogate": config.surrogate["kind"],
               "objective": config.objective,
               "best": None if best_row is None else {"candidate": best_row["candidate"], "value": float(best_row["value"]),
                                                      "call": int(best_row["call"])},
               "pool": len(pool.ids), "pool_rejects": len(pool.rejects)}
    if true_values and len(table):
        top = top_set(true_values, config.top_fraction, config.maximize)
        summary["top_set"] = {"size": len(top), "fraction": config.top_fraction,
                              "found": int(table["top_found"].iloc[-1]), "fraction_found": float(table["top_fraction_found"].iloc[-1])}
    if wall_seconds is not None:
        summary["wall_seconds"] = round(wall_seconds, 2)
        summary["oracle_seconds"] = round(float(busy_seconds or 0.0), 2)
        for key, seconds in (("oracle_busy_fraction", wall_seconds), ("oracle_busy_fraction_of_span", span_seconds)):
            summary[key] = round(float(busy_seconds or 0.0) / (seconds * config.workers), 4) if seconds else None
    atomic_write_text(folder / "summary.json", json.dumps(summary, indent=1, default=float))
    if len(table):
        discovery_plot(table, folder / "discovery.png", config)
    return summary


def discovery_plot(table: pd.DataFrame, path: Path, config) -> Path:
    """Best value found, and where known the fraction of the top set found, against oracle calls."""
    from matplotlib.figure import Figure

    panels = 2 if "top_fraction_found" in table else 1
    figure = Figure(figsize=(5 * panels, 3.6), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    axes[0].plot(table["call"], table["best_so_far"], drawstyle="steps-post")
    axes[0].set(xlabel="oracle calls", ylabel=f"best value ({config.objective})", title="best found")
    if panels == 2:
        axes[1].plot(table["call"], table["top_fraction_found"], drawstyle="steps-post")
        axes[1].set(xlabel="oracle calls", ylabel="fraction found", ylim=(0, 1.02),
                    title=f"top {config.top_fraction:.0%} of the pool found")
    for ax in axes:
        ax.grid(alpha=0.3)
    figure.suptitle(f"{config.acquisition}, {config.surrogate['kind']} surrogate")
    path = Path(path)
    figure.savefig(path.with_suffix(".tmp.png"), dpi=90)
    path.with_suffix(".tmp.png").replace(path)
    return path


def history_frame(folder: str | Path) -> pd.DataFrame:
    """A campaign folder's ``history.csv``."""
    return pd.read_csv(Path(folder) / "history.csv", dtype={"candidate": str})

