"""Steered campaigns against random selection: how many of the best MOFs a surrogate finds per simulation.

1. Discovery on crafted726 (CO2 uptake at 298 K and 1 bar, UFF+DDEC GCMC, mmol/g), replayed with the
   ``lookup`` oracle: the pool is every structure the featurizer keeps (pore geometry and CO2
   host-guest energies from the DDEC charges as the global descriptors), the top set is the best 5 %
   of the pool by the GCMC value. Each repeat (seeds 0-4) starts from its own 30 random structures and
   spends 150 oracle calls (about 22 % of the pool) in batches of 10, with the next batch picked
   while the current one is simulated (``prefetch`` 1). Contenders, on the same initial sets:
   ``random`` (the control; the expected fraction found is calls / pool), and each acquisition
   (``greedy``, ``ucb`` with beta 2, ``ei``, ``thompson``) with two surrogates: the descriptor forest
   (scikit-learn, 200 trees on the descriptors) and the GNN ensemble (3 members of molgnn's CO2
   model family, ``edge_attention_charge_descriptors`` at hidden 16 and one convolution, 15 epochs,
   each on the results less a seeded 15 % that picks its best epoch; sized so that the 220
   retrainings of the protocol fit in about half an hour on 2 cores). Reported: the fraction of the
   top set found after 50, 100 and 150 calls (mean +- std over repeats) and its ratio to random.

2. Overlap on hmof100 with the ``henry`` oracle (molgnn's Widom CO2 Henry coefficient on EQeq
   charges, 100,000 insertions, about a second per structure; the structures EQeq cannot charge fail
   with their reason), 48 calls, one simulation worker, the forest surrogate on pore geometry: the
   fraction of the time the oracle worker is busy, over the campaign's wall time (Parsl start-up
   included) and over the span from the first simulation to the last result. 100,000 insertions
   rather than fewer because that is what a precise Henry coefficient costs: over 4 seeds on 10
   hmof100 structures, the largest standard deviation of ``log10 K_H`` is 0.040 at 30,000 insertions
   and 0.017 at 100,000. The same campaign with 30,000 insertions (0.4 s per call) is reported beside
   it (``henry_short``): its share shows the fixed start-up (about 2.5 s, mostly the imports of Parsl
   and torch in the worker) that no overlap can hide.

Goals (issue 15): UCB or EI with the GNN ensemble finds >= 3.5x as many top-5 % structures as random
at 150 calls (>= 75 % of them), and at least as many as the forest surrogate; the oracle worker
busy >= 90 % of the campaign's wall time with ``henry`` on hmof100.

Every campaign is a folder under ``--work-dir`` (resumed if it exists, so an interrupted run goes on);
``--jobs`` campaigns at a time, one process each. Writes ``campaign.md``, ``campaign.json`` and
``discovery.png`` to ``--out``; prints one JSON object as its last line. ``--quick`` (a smoke test of
a few minutes): 80 structures, one repeat, 40 calls, ``ucb`` only, a tiny GNN, hmof100 on 12 calls.

Run: ``python benchmarks/campaign.py [--quick] [--jobs 2] [--data-dir DIR] [--work-dir DIR] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from peers import git_commit  # benchmarks/peers.py, beside this script

ACQUISITIONS = ("greedy", "ucb", "ei", "thompson")
CHECKPOINTS = (50, 100, 150)
GNN = {"kind": "ensemble", "model": "edge_attention_charge_descriptors", "members": 3,
       "config": {"model_args": {"hidden": 16, "layers": 1, "norm": "layer", "descriptor_hidden": 128, "dropout": 0.1},
                  "epochs": 15, "batch_size": 32, "lr": 3e-3, "scheduler": "cosine", "loss": "l1",
                  "target_transform": "log1p", "ema": 0.9}}
FOREST = {"kind": "forest", "trees": 200}
FULL = {"repeats": 5, "initial": 30, "batch_size": 10, "budget": 150, "acquisitions": ACQUISITIONS, "names": None,
        "gnn": GNN, "henry": {"budget": 48, "initial": 8, "batch_size": 8, "insertions": 100000, "short_insertions": 30000}}
QUICK = {**FULL, "repeats": 1, "initial": 10, "budget": 40, "acquisitions": ("ucb",), "checkpoints": (20, 40),
         "names": 80, "gnn": {**GNN, "members": 2, "config": {**GNN["config"], "epochs": 2}},
         "henry": {"budget": 12, "initial": 4, "batch_size": 4, "insertions": 3000, "short_insertions": 1500}}


def default_data_dir() -> Path:
    return Path(os.environ.get("MOLGNN_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")


def truth_table(data_dir: Path, work: Path, names: int | None) -> tuple[Path, list[str] | None]:
    """The GCMC CO2 uptakes at 1 bar of crafted726 as the lookup oracle's table (and the quick mode's structures)."""
    import pandas as pd  # here, not at the top: every campaign worker imports this script as its main module

    from molgnn.data.build import resolve_spec

    options = {"pressures": [1.0]}
    subset = None
    if names:
        every = sorted(p.stem for p in (data_dir / "crafted726" / "cif" / "DDEC").glob("*.cif"))
        subset = every[:names]
        options["names"] = subset
    records = resolve_spec("crafted726", data_dir, options).read()
    table = work / "crafted726_co2_1bar.csv"
    work.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": records.ids, "co2_1bar": records.y[:, 0]}).to_csv(table, index=False)
    return table, subset


def discovery_configs(setup: dict, table: Path, names: list[str] | None) -> dict[str, dict]:
    """Every campaign of part 1, by folder name."""
    base = {"pool": "crafted726", "pool_options": {"pressures": [1.0], **({"names": names} if names else {})},
            "featurizer": {"descriptors": ["pores", "energies"], "charges": "cif"},
            "oracle": {"kind": "lookup", "table": str(table), "column": "co2_1bar"},
            "batch_size": setup["batch_size"], "budget": setup["budget"], "initial": setup["initial"], "prefetch": 1}
    configs = {}
    for seed in range(setup["repeats"]):
        configs[f"random-seed{seed}"] = {**base, "acquisition": "random", "seed": seed}
        for acquisition in setup["acquisitions"]:
            for name, surrogate in (("forest", FOREST), ("gnn", setup["gnn"])):
                configs[f"{name}-{acquisition}-seed{seed}"] = {**base, "surrogate": surrogate, "acquisition": acquisition,
                                                               "seed": seed}
    return configs


def henry_config(setup: dict, insertions: int) -> dict:
    henry = setup["henry"]
    return {"pool": "hmof100", "pool_options": {"pressures": [0.1]}, "featurizer": {"descriptors": ["pores"], "charges": "none"},
            "oracle": {"kind": "henry", "insertions": insertions}, "oracle_seconds": 120,
            "surrogate": FOREST, "acquisition": "ucb", "batch_size": henry["batch_size"], "budget": henry["budget"],
            "initial": henry["initial"], "workers": 1, "seed": 0}


def run_one(job: tuple[str, dict, str, str]) -> tuple[str, dict]:
    """One campaign in its folder (a process of its own; the Parsl workers it starts run one thread each)."""
    import multiprocessing

    import torch

    torch.set_num_threads(1)
    multiprocessing.set_start_method("fork", force=True)  # Colmena's task server is a forked process
    from molgnn.campaign import run_campaign

    name, config, folder, data_dir = job
    started = time.perf_counter()
    summary = run_campaign(config, folder, data_dir=data_dir, progress=False)
    print(f"{name}: {summary['status']}, top set found {summary.get('top_set', {}).get('found')}, "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return name, summary


def found_at(folder: Path, checkpoints) -> dict[int, float]:
    """Fraction of the top set found after each checkpoint's number of oracle calls."""
    from molgnn.campaign.report import history_frame

    history = history_frame(folder)
    return {c: float(history["top_fraction_found"].iloc[min(c, len(history)) - 1]) for c in checkpoints}


def summarize(configs: dict, work: Path, checkpoints) -> dict:
    """Per contender (surrogate-acquisition, or random): mean and std over repeats of the top-set fraction found."""
    contenders: dict[str, list[dict]] = {}
    for name in configs:
        contenders.setdefault(name.rsplit("-seed", 1)[0], []).append(found_at(work / name, checkpoints))
    table = {}
    for contender, runs in contenders.items():
        table[contender] = {str(c): {"mean": float(np.mean([r[c] for r in runs])), "std": float(np.std([r[c] for r in runs])),
                                     "repeats": len(runs)} for c in checkpoints}
    last = str(checkpoints[-1])
    for row in table.values():
        row["ratio_to_random"] = {c: (row[c]["mean"] / table["random"][c]["mean"]) if table["random"][c]["mean"] else None
                                  for c in map(str, checkpoints)}
    table["_last"] = last
    return table


def goals(table: dict, henry: dict, acquisitions) -> dict:
    last = table["_last"]
    candidates = {a: table[f"gnn-{a}"] for a in ("ucb", "ei") if f"gnn-{a}" in table}
    best_name, best = max(candidates.items(), key=lambda item: item[1][last]["mean"])
    forest_best = max(table[f"forest-{a}"][last]["mean"] for a in acquisitions)
    return {"best_gnn_ucb_or_ei": f"gnn-{best_name}", "found_fraction": best[last]["mean"],
            "ratio_to_random": best["ratio_to_random"][last],
            "ratio_ge_3.5": bool(best["ratio_to_random"][last] and best["ratio_to_random"][last] >= 3.5),
            "found_ge_0.75": best[last]["mean"] >= 0.75, "best_forest_found_fraction": forest_best,
            "gnn_ge_forest": best[last]["mean"] >= forest_best,
            "oracle_busy_fraction": henry.get("oracle_busy_fraction"),
            "oracle_busy_ge_0.9": (henry.get("oracle_busy_fraction") or 0) >= 0.9}


def plot(table: dict, checkpoints, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 4), layout="constrained")
    ax = figure.subplots()
    for contender, row in sorted((k, v) for k, v in table.items() if not k.startswith("_")):
        means = [row[str(c)]["mean"] for c in checkpoints]
        stds = [row[str(c)]["std"] for c in checkpoints]
        style = "k--" if contender == "random" else ("-" if contender.startswith("gnn") else ":")
        ax.errorbar(checkpoints, means, yerr=stds, fmt=style, marker="o", capsize=3, label=contender)
    ax.set(xlabel="oracle calls", ylabel="fraction of the top 5 % found", ylim=(0, 1.02), title="crafted726, CO2 at 1 bar")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
    return path


def markdown(table: dict, henry: dict, henry_short: dict, goal: dict, setup: dict, checkpoints, note: str) -> str:
    last = table["_last"]
    lines = ["# Steered campaigns vs random selection", "", note, "",
             "| contender | " + " | ".join(f"found after {c} calls" for c in checkpoints) + f" | ratio to random at {last} |",
             "|---|" + "---|" * (len(checkpoints) + 1)]
    ordered = sorted((k for k in table if not k.startswith("_")), key=lambda k: -table[k][last]["mean"])
    for contender in ordered:
        row = table[contender]
        cells = " | ".join(f"{row[str(c)]['mean']:.3f} ± {row[str(c)]['std']:.3f}" for c in checkpoints)
        ratio = row["ratio_to_random"][last]
        lines.append(f"| {contender} | {cells} | {ratio:.2f} |" if ratio is not None else f"| {contender} | {cells} | - |")
    lines += [""]
    for name, run, insertions in (("henry", henry, setup["henry"]["insertions"]),
                                  ("henry_short", henry_short, setup["henry"]["short_insertions"])):
        lines.append(f"{name} oracle on hmof100 ({insertions} insertions): {run.get('status')}, oracle worker busy "
                     f"{run.get('oracle_busy_fraction')} of the wall time ({run.get('wall_seconds')} s) and "
                     f"{run.get('oracle_busy_fraction_of_span')} of the span from the first simulation to the last result")
    lines += ["", "Goals: " + json.dumps(goal)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--quick", action="store_true", help="a smoke test: 80 structures, one repeat, 40 calls")
    parser.add_argument("--work-dir", type=Path, help="campaign folders (default: a temporary folder; reuse one to resume)")
    parser.add_argument("--out", type=Path, default=Path("campaign_results"), help="report folder")
    parser.add_argument("--jobs", type=int, default=2, help="campaigns at a time (2)")
    args = parser.parse_args(argv)
    setup = dict(QUICK if args.quick else FULL)
    checkpoints = setup.get("checkpoints", CHECKPOINTS)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="molgnn-campaign-"))
    args.out.mkdir(parents=True, exist_ok=True)
    started, commit = time.perf_counter(), git_commit()  # the code this run measures
    table_path, names = truth_table(args.data_dir, work, setup["names"])
    configs = discovery_configs(setup, table_path, names)
    # the pool is featurized once, here, before the campaigns read it from the cache
    from molgnn.campaign import CampaignConfig
    from molgnn.campaign.pool import PoolSpec, load_pool

    pool = load_pool(PoolSpec.of(CampaignConfig.from_dict(configs["random-seed0"]), str(args.data_dir)), progress=True)
    henry = henry_config(setup, setup["henry"]["insertions"])
    load_pool(PoolSpec.of(CampaignConfig.from_dict(henry), str(args.data_dir)), progress=True)
    print(f"pool: {len(pool.ids)} structures ({len(pool.rejects)} refused by the featurizer); "
          f"{len(configs)} discovery campaigns, {args.jobs} at a time", flush=True)
    jobs = [(name, config, str(work / name), str(args.data_dir)) for name, config in configs.items()]
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as executor:
        for _ in executor.map(run_one, jobs):
            pass
    # alone on the machine, so that the simulation worker's share of the time is the campaign's own
    _, henry_summary = run_one(("henry-hmof100", henry, str(work / "henry-hmof100"), str(args.data_dir)))
    _, henry_short = run_one(("henry-hmof100-short", henry_config(setup, setup["henry"]["short_insertions"]),
                              str(work / "henry-hmof100-short"), str(args.data_dir)))
    table = summarize(configs, work, checkpoints)
    goal = goals(table, henry_summary, setup["acquisitions"])
    wall = time.perf_counter() - started
    note = (f"{'Quick mode. ' if args.quick else ''}Pool: {len(pool.ids)} crafted726 structures, top set "
            f"{math.ceil(0.05 * len(pool.ids))}; {setup['repeats']} repeat(s), {setup['initial']} random initial picks, "
            f"batches of {setup['batch_size']}, {setup['budget']} calls; wall time {wall:.0f} s with {args.jobs} campaign(s) "
            f"at a time.")
    report = markdown(table, henry_summary, henry_short, goal, setup, checkpoints, note)
    (args.out / "campaign.md").write_text(report)
    result = {"benchmark": "campaign", "quick": args.quick, "commit": commit, "wall_s": round(wall, 1),
              "pool": len(pool.ids), "campaigns": len(configs) + 2, "goals": goal,
              "found_fraction": {k: v for k, v in table.items() if not k.startswith("_")},
              "henry": henry_summary, "henry_short": henry_short, "figure": str(plot(table, checkpoints, args.out / "discovery.png"))}
    (args.out / "campaign.json").write_text(json.dumps(result, indent=1, default=float))
    print(report)
    print(json.dumps(result, default=float))
    return result


if __name__ == "__main__":
    main()
