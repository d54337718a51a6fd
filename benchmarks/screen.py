"""Screening throughput of ``molgnn screen`` against ``chemprop predict``, and where the time goes on CIFs.

What is compared with what (torch on one thread in every process; the box's 2 cores are shared):

1. Molecules: every SMILES of hiv + muv (``molnet/hiv.csv.gz``, ``molnet/muv.csv.gz``, ~134k)
   that RDKit parses (``chemprop predict`` stops at the first one it cannot parse, so both get the
   parsable ones; molgnn would give the others a status row). A sider ``hybrid`` model trained here
   for 1 epoch (``molgnn.train``) screens them with ``molgnn screen`` (workers = cores, each
   featurizing and predicting: the CPU default), against ``chemprop predict`` (its CLI, defaults,
   ``--num-workers 0``) with a chemprop model trained here by ``chemprop train`` for 1 epoch on
   sider. Both are timed end to end as fresh processes (imports, model loading, reading, writing
   the predictions): ``speedup`` = molgnn records/s / chemprop records/s (goal >= 3). Without
   chemprop (the ``bench`` extra) ``chemprop`` says "unavailable" and ``speedup`` is null.
   ``profile``: the two models alone on the library's first 4096 molecules in one process: ms,
   matrix-multiply MFLOP per molecule and GFLOP/s of each (their arithmetic, not their code, sets
   what a faster inference can still gain), the top operators, and their ratios.
2. Memory: peak RSS (``VmHWM``) of the screening process on a tenth of that library and on all
   of it: ``rss_ratio`` = large / small (goal <= 1.2: memory flat in the library's size).
3. Crystals: the CoRE MOF 2019 database (``core-mof`` package, 2019-ASR + 2019-FSR, ~19k CIFs)
   when it is installed, otherwise every crafted726 (DDEC) and hmof100 CIF (said in the JSON),
   screened with a crafted726 CGCNN model (CO2 at 298 K and 1 bar, no charges, 2 epochs):
   structures/s, counts per status, the stage timings the screen reports, and a profile of a
   sample in one process (parse, neighbour list, rest of the graph, EQeq charges — what a model
   with computed charges would add —, model) in ms per structure; the floor is parsing alone. The
   model's arithmetic: its matrix-multiply FLOPs per structure (``torch.utils.flop_counter``) and
   the GFLOP/s it achieves, with the top operators of a ``torch.profiler`` run.

``--quick`` (CI smoke test, a few minutes): 4000 molecules (400 for the small memory run), 60
crafted726 + hmof100 CIFs, profile of 8. The last line printed is one JSON object.

Run: ``python benchmarks/screen.py [--quick] [--data-dir DIR] [--work-dir DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peers import chemprop_unavailable  # benchmarks/peers.py, beside this script

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       # chemprop reloads its own checkpoint (Lightning hyper-parameters) with torch.load, whose
       # weights_only default refuses it; the files are the ones this benchmark just wrote.
       "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}


def vm_hwm_mb() -> float:
    """Peak resident memory of this process, MB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def children_maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------ children

def checkpoint(work: Path, name: str, value: dict) -> None:
    """Keep each finished measurement in the work folder, so a long run that is stopped still tells something."""
    path = work / "partial.json"
    done = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**done, name: value}, indent=1))


def child_screen(spec: dict) -> dict:
    """``molgnn.screen.screen`` in a fresh process, timed from before the imports."""
    start = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    from molgnn.screen import screen

    result = screen(spec["runs"], spec["library"], spec["out"], workers=spec.get("workers"), progress=False,
                    restart=True, chunk_size=spec.get("chunk_size"))
    wall = time.perf_counter() - start
    return {"end_to_end_s": wall, "summary": result.summary, "peak_mb": vm_hwm_mb(), "workers_peak_mb": children_maxrss_mb()}


def children_cpu_s() -> float:
    """CPU seconds (user + system) of every waited-for descendant so far (a screen's workers included)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(kind: str, spec: dict) -> dict:
    cpu = children_cpu_s()
    done = subprocess.run([sys.executable, __file__, "--child", kind, json.dumps(spec)], capture_output=True, text=True,
                          env=ENV)
    if done.returncode:
        raise RuntimeError(f"{kind} child failed: {done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "cpu_s": children_cpu_s() - cpu}


def model_arithmetic(call, batches: list) -> dict:
    """``call(batch)`` on each of ``batches`` in this process (torch on one thread, inference mode): the
    seconds of each call, the FLOPs of the matrix multiplies (``torch.utils.flop_counter``, counted in a
    second pass that is not timed) and the shares of the top operators of a ``torch.profiler`` run."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(1)
    if not batches:
        return {"batch_seconds": [], "flops": 0, "gflop_per_s": None, "top_operators_share": {}}
    seconds, flops = [], 0
    with torch.inference_mode():
        call(batches[0])  # warm up: lazily built kernels and caches
        for batch in batches:
            start = time.perf_counter()
            call(batch)
            seconds.append(time.perf_counter() - start)
            with FlopCounterMode(display=False) as counter:
                call(batch)
            flops += counter.get_total_flops()
        with torch.profiler.profile() as profiler:
            call(batches[0])
    events = profiler.key_averages()
    total_us = sum(e.self_cpu_time_total for e in events)
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:8]
    return {"batch_seconds": seconds, "flops": flops, "gflop_per_s": flops / sum(seconds) / 1e9,
            "top_operators_share": {e.key: round(e.self_cpu_time_total / total_us, 3) for e in top}}


# --------------------------------------------------------------------------------------- molecules

def molecule_library(data_dir: Path, work: Path, limit: int | None) -> tuple[Path, int, int]:
    """hiv + muv SMILES that RDKit parses, as ``id,smiles``; returns the path, rows kept and excluded."""
    import pandas as pd
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    frames = [pd.read_csv(data_dir / "molnet" / f"{name}.csv.gz", usecols=["smiles"]).assign(source=name)
              for name in ("hiv", "muv")]
    frame = pd.concat(frames, ignore_index=True)
    frame["id"] = frame["source"] + "-" + frame.groupby("source").cumcount().astype(str)
    if limit:
        frame = frame.sample(n=limit, random_state=0).sort_index()
    parsable = [Chem.MolFromSmiles(s) is not None for s in frame["smiles"]]
    kept = frame.loc[parsable, ["id", "smiles"]]
    path = work / f"hiv_muv_{len(kept)}.csv"
    kept.to_csv(path, index=False)
    return path, len(kept), len(frame) - len(kept)


def train_sider_models(data_dir: Path, work: Path, with_chemprop: bool) -> tuple[Path, Path | None]:
    import torch

    from molgnn.data import load_dataset
    from molgnn.featurize.molecule import MoleculeFeaturizer
    from molgnn.train.config import TrainConfig
    from molgnn.train.trainer import train

    torch.set_num_threads(1)
    molgnn_run = work / "sider-hybrid"
    if not (molgnn_run / "run.json").exists():
        dataset = load_dataset("sider", data_dir, featurizer=MoleculeFeaturizer(fingerprint_bits=2048),
                               cache_dir=work / "cache", progress=False, workers=1)
        train(dataset, molgnn_run, TrainConfig(model="hybrid", epochs=1, seed=0), resume=False, progress=False)
    if not with_chemprop:
        return molgnn_run, None
    chemprop_model = work / "chemprop-sider" / "model_0" / "best.pt"
    if not chemprop_model.exists():
        command = ["chemprop", "train", "--data-path", str(data_dir / "molnet" / "sider.csv"), "--task-type",
                   "classification", "--epochs", "1", "--warmup-epochs", "0", "--num-workers", "0", "--accelerator", "cpu",
                   "--devices", "1", "--pytorch-seed", "0", "--output-dir", str(work / "chemprop-sider")]
        done = subprocess.run(command, capture_output=True, text=True, env=ENV)
        if done.returncode or not chemprop_model.exists():
            raise RuntimeError(f"chemprop train failed: {done.stderr[-3000:]}")
    return molgnn_run, chemprop_model


def chemprop_predict(model: Path, library: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``chemprop predict`` on ``library``."""
    cpu = children_cpu_s()
    start = time.perf_counter()
    done = subprocess.run(["chemprop", "predict", "--test-path", str(library), "--smiles-columns", "smiles",
                           "--model-paths", str(model), "--preds-path", str(out), "--num-workers", "0",
                           "--accelerator", "cpu", "--devices", "1"], capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"chemprop predict failed: {done.stderr[-3000:]}")
    return wall, children_cpu_s() - cpu


def profile_molecules(run_dir: Path, chemprop_model: Path | None, library: Path, sample: int) -> dict:
    """The two models alone on the library's first ``sample`` molecules, in this process: ms per molecule,
    MFLOP per molecule and GFLOP/s of molgnn's model (batches of 256, as ``molgnn screen``) and of
    chemprop's (its own featurizer and batches of 64, as ``chemprop predict``)."""
    import pandas as pd

    from molgnn.screen.worker import DROPPED_KEYS
    from molgnn.train.checkpoint import load_run

    smiles = pd.read_csv(library, usecols=["smiles"], nrows=sample)["smiles"].tolist()
    run = load_run(run_dir)
    graphs, _ = run.featurizer.featurize_many(smiles, [str(k) for k in range(len(smiles))])
    batches = [run.featurizer.expand(graphs.batch(list(range(begin, min(begin + 256, len(graphs)))), drop=DROPPED_KEYS))
               for begin in range(0, len(graphs), 256)]
    models = {"molgnn": (model_arithmetic(run.model, batches), len(graphs))}
    if chemprop_model is not None:
        from chemprop import data
        from chemprop.models.utils import load_model

        model = load_model(chemprop_model, multicomponent=False).eval()
        points = [data.MoleculeDatapoint.from_smi(text) for text in smiles]
        loader = data.build_dataloader(data.MoleculeDataset(points), 64, 0, shuffle=False)
        models["chemprop"] = (model_arithmetic(lambda batch: model(batch.bmg, batch.V_d, batch.X_d), list(loader)), len(points))
    profile = {"molecules": len(smiles), "mean_atoms": float(graphs.data.x.shape[0]) / max(len(graphs), 1)}
    for name, (figures, n) in models.items():
        profile[name] = {"ms_per_molecule": 1e3 * sum(figures["batch_seconds"]) / n, "mflop_per_molecule": figures["flops"] / n / 1e6,
                         "gflop_per_s": figures["gflop_per_s"], "top_operators_share": figures["top_operators_share"]}
    if "chemprop" in profile:
        profile["model_time_ratio"] = profile["chemprop"]["ms_per_molecule"] / profile["molgnn"]["ms_per_molecule"]
        profile["flop_ratio"] = profile["molgnn"]["mflop_per_molecule"] / profile["chemprop"]["mflop_per_molecule"]
    return profile


def bench_molecules(args, work: Path) -> dict:
    library, n, excluded = molecule_library(args.data_dir, work, 4000 if args.quick else args.molecule_limit)
    small, n_small, _ = molecule_library(args.data_dir, work, 400 if args.quick else n // 10)
    print(f"molecules: {n} parsable hiv + muv SMILES ({excluded} RDKit cannot parse, left out for chemprop's sake)",
          flush=True)
    missing = chemprop_unavailable()
    molgnn_run, chemprop_model = train_sider_models(args.data_dir, work, with_chemprop=missing is None)
    workers = os.cpu_count() or 1
    molgnn = run_child("screen", {"runs": [str(molgnn_run)], "library": str(library), "out": str(work / "molgnn.parquet"),
                                  "workers": workers})
    rate = n / molgnn["end_to_end_s"]
    print(f"molgnn screen: {molgnn['end_to_end_s']:.1f} s end to end = {rate:.0f} records/s "
          f"(in-loop {molgnn['summary']['records_per_s']:.0f}/s; stages {molgnn['summary']['timing_s']}), "
          f"peak {molgnn['peak_mb']:.0f} MB", flush=True)
    checkpoint(work, "molecules_molgnn", molgnn)
    if missing:
        print(f"chemprop {missing}", flush=True)
        chemprop, speedup, cpu_speedup = missing, None, None
    else:
        chemprop_s, chemprop_cpu = chemprop_predict(chemprop_model, library, work / "chemprop_preds.csv")
        chemprop = {"end_to_end_s": chemprop_s, "records_per_s": n / chemprop_s, "cpu_s": chemprop_cpu}
        speedup, cpu_speedup = rate / chemprop["records_per_s"], chemprop_cpu / molgnn["cpu_s"]
        print(f"chemprop predict: {chemprop_s:.1f} s = {chemprop['records_per_s']:.0f} records/s; speedup {speedup:.2f}x; "
              f"CPU seconds molgnn {molgnn['cpu_s']:.0f} vs chemprop {chemprop_cpu:.0f} ({cpu_speedup:.2f}x fewer)", flush=True)
        checkpoint(work, "molecules_chemprop", chemprop)
    small_run = run_child("screen", {"runs": [str(molgnn_run)], "library": str(small), "out": str(work / "small.parquet"),
                                     "workers": workers})
    rss_ratio = molgnn["peak_mb"] / small_run["peak_mb"]
    print(f"peak RSS: {small_run['peak_mb']:.0f} MB for {n_small} records, {molgnn['peak_mb']:.0f} MB for {n} "
          f"({rss_ratio:.2f}x; workers {small_run['workers_peak_mb']:.0f} / {molgnn['workers_peak_mb']:.0f} MB)", flush=True)
    profile = profile_molecules(molgnn_run, chemprop_model, library, 512 if args.quick else 4096)
    print(f"models alone on {profile['molecules']} molecules (mean {profile['mean_atoms']:.1f} atoms): " + "; ".join(
        f"{name} {p['ms_per_molecule']:.3f} ms, {p['mflop_per_molecule']:.1f} MFLOP per molecule at {p['gflop_per_s']:.1f} GFLOP/s"
        for name, p in profile.items() if isinstance(p, dict)), flush=True)
    return {
        "records": n, "unparsable_left_out": excluded, "model": "hybrid (AttentiveFP + 2048-bit Morgan), sider, 1 epoch",
        "molgnn": {"end_to_end_s": molgnn["end_to_end_s"], "records_per_s": rate,
                   "in_loop_records_per_s": molgnn["summary"]["records_per_s"], "workers": workers,
                   "timing_s": molgnn["summary"]["timing_s"], "status": molgnn["summary"]["status"],
                   "peak_mb": molgnn["peak_mb"], "workers_peak_mb": molgnn["workers_peak_mb"], "cpu_s": molgnn["cpu_s"]},
        "chemprop": chemprop, "speedup": speedup, "cpu_speedup": cpu_speedup,
        "memory": {"small_records": n_small, "large_records": n, "small_peak_mb": small_run["peak_mb"],
                   "large_peak_mb": molgnn["peak_mb"], "rss_ratio": rss_ratio},
        "profile": profile,
    }


# ---------------------------------------------------------------------------------------- crystals

def crystal_library(args, work: Path) -> tuple[str, str]:
    """``core-mof`` when installed (not in --quick), else a folder linking crafted726 and hmof100 CIFs."""
    if not args.quick:
        try:
            import CoRE_MOF  # noqa: F401

            sets = args.core_mof_sets
            return f"core-mof:{sets}", f"CoRE MOF {sets.replace(',', ' + ')} (core-mof package)"
        except ModuleNotFoundError:
            pass
    folder = work / "crystal-library"
    folder.mkdir(exist_ok=True)
    files = sorted((args.data_dir / "crafted726" / "cif" / "DDEC").glob("*.cif")) + \
        sorted((args.data_dir / "hmof100" / "cif").glob("*.cif"))
    if args.quick:
        files = files[:40] + files[-20:]
    for path in files:
        link = folder / path.name
        if not link.exists():
            link.symlink_to(path)
    note = "core-mof not installed: " if not args.quick else ""
    return str(folder), f"{note}{len(files)} CIFs of crafted726 (DDEC) and hmof100"


def train_crystal_model(args, work: Path) -> Path:
    import torch

    from molgnn.data import load_dataset
    from molgnn.featurize.crystal import CrystalFeaturizer
    from molgnn.train.config import TrainConfig
    from molgnn.train.trainer import train

    torch.set_num_threads(1)
    run = work / "crafted-cgcnn"
    if not (run / "run.json").exists():
        dataset = load_dataset("crafted726", args.data_dir, featurizer=CrystalFeaturizer(charges="none"),
                               cache_dir=work / "cache", progress=False, workers=1)
        train(dataset, run, TrainConfig(model="cgcnn", epochs=1 if args.quick else 2, seed=0), resume=False,
              progress=False)
    return run


def profile_crystals(run_dir: Path, library: str, sample: int) -> dict:
    """ms per structure of each stage, on the library's first ``sample`` structures, in this process."""
    import torch
    from torch_geometric.data import Batch

    from molgnn.chem.charge_equilibration import EQeq
    from molgnn.chem.crystal import parse_cif_text, read_cif
    from molgnn.chem.errors import InvalidInputError
    from molgnn.chem.neighbors import periodic_neighbors
    from molgnn.screen.library import open_library
    from molgnn.train.checkpoint import load_run

    torch.set_num_threads(1)
    run = load_run(run_dir)
    featurizer = run.featurizer
    times = {"parse": [], "neighbours": [], "graph_rest": [], "charges_eqeq": [], "model": []}
    graphs, atoms = [], []
    for _, record_id, _, payload in open_library(library).records():
        if len(graphs) == sample:
            break
        try:
            start = time.perf_counter()
            crystal = read_cif(payload, record_id) if isinstance(payload, Path) else parse_cif_text(payload, record_id)
            parsed = time.perf_counter()
            periodic_neighbors(crystal.lattice, crystal.frac, featurizer.cutoff)
            neighbours = time.perf_counter()
            graph = featurizer.graph(crystal)
            built = time.perf_counter()
        except InvalidInputError:
            continue
        try:
            start_q = time.perf_counter()
            EQeq()(crystal)
            times["charges_eqeq"].append(time.perf_counter() - start_q)
        except InvalidInputError:
            pass
        times["parse"].append(parsed - start)
        times["neighbours"].append(neighbours - parsed)
        times["graph_rest"].append(max(built - neighbours - (neighbours - parsed), 0.0))
        del graph.id
        graphs.append(graph)
        atoms.append(len(crystal))
    batches = [featurizer.expand(Batch.from_data_list(graphs[begin:begin + 32])) for begin in range(0, len(graphs), 32)]
    model = model_arithmetic(run.model, batches)
    for batch, seconds in zip(batches, model["batch_seconds"]):
        times["model"].extend([seconds / batch.num_graphs] * batch.num_graphs)
    return {"structures": len(graphs), "median_atoms": statistics.median(atoms) if atoms else None,
            "ms_per_structure": {k: 1e3 * statistics.mean(v) if v else None for k, v in times.items()},
            "model_median_ms": 1e3 * statistics.median(times["model"]) if graphs else None,
            "model_mflop_per_structure": model["flops"] / max(len(graphs), 1) / 1e6,
            "model_gflop_per_s": model["gflop_per_s"], "model_top_operators_share": model["top_operators_share"]}


def bench_crystals(args, work: Path) -> dict:
    library, described = crystal_library(args, work)
    run_dir = train_crystal_model(args, work)
    print(f"crystals: {described}", flush=True)
    workers = os.cpu_count() or 1
    result = run_child("screen", {"runs": [str(run_dir)], "library": library, "out": str(work / "crystals.parquet"),
                                  "workers": workers})
    checkpoint(work, "crystals_screen", result)
    summary = result["summary"]
    rate = summary["records"] / result["end_to_end_s"]
    print(f"molgnn screen: {summary['records']} structures in {result['end_to_end_s']:.1f} s = {rate:.1f} structures/s "
          f"(in-loop {summary['records_per_s']:.1f}/s), status {summary['status']}, stages {summary['timing_s']}, "
          f"peak {result['peak_mb']:.0f} MB", flush=True)
    profile = profile_crystals(run_dir, library, 8 if args.quick else 100)
    stages = profile["ms_per_structure"]
    print(f"profile of {profile['structures']} structures (median {profile['median_atoms']} atoms), ms each: {stages}; "
          f"model median {profile['model_median_ms']:.2f} ms, {profile['model_mflop_per_structure']:.1f} MFLOP per structure "
          f"(matrix multiplies) at {profile['model_gflop_per_s']:.2f} GFLOP/s; operators {profile['model_top_operators_share']}",
          flush=True)
    return {"library": described, "records": summary["records"], "status": summary["status"],
            "model": "cgcnn, crafted726 CO2 298 K 1 bar, no charges", "end_to_end_s": result["end_to_end_s"],
            "structures_per_s": rate, "in_loop_structures_per_s": summary["records_per_s"], "workers": workers,
            "timing_s": summary["timing_s"], "peak_mb": result["peak_mb"], "cpu_s": result["cpu_s"], "profile": profile,
            "parse_only_structures_per_s": 1e3 / stages["parse"] if stages["parse"] else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MOLGNN_DATA_DIR", REPO.parent / "shared" / "data")))
    parser.add_argument("--work-dir", type=Path, help="keep trained models and libraries here (default: a temporary folder)")
    parser.add_argument("--part", choices=("all", "molecules", "crystals"), default="all")
    parser.add_argument("--core-mof-sets", default="2019-ASR,2019-FSR", help="CoRE MOF sets to screen (comma-separated)")
    parser.add_argument("--molecule-limit", type=int, help="screen a random sample of this many hiv + muv SMILES")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({"screen": child_screen}[args.child[0]](json.loads(args.child[1]))))
        return
    import torch

    torch.set_num_threads(1)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="molgnn-screen-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "molgnn", "benchmarks"], cwd=REPO, capture_output=True,
                           text=True).stdout.strip()
    summary = {"benchmark": "screen", "quick": args.quick, "work_dir": str(work), "commit": commit,
               "uncommitted_changes": bool(dirty)}
    goals = {}
    if args.part in ("all", "molecules"):
        summary["molecules"] = bench_molecules(args, work)
        checkpoint(work, "molecules", summary["molecules"])
        speedup = summary["molecules"]["speedup"]
        goals.update({"speedup_vs_chemprop_ge_3": None if speedup is None else speedup >= 3,
                      "rss_ratio_le_1.2": summary["molecules"]["memory"]["rss_ratio"] <= 1.2})
    if args.part in ("all", "crystals"):
        crystals = summary["crystals"] = bench_crystals(args, work)
        goals.update({"crystals_ge_100_per_s": crystals["structures_per_s"] >= 100,
                      "model_median_le_8_ms": crystals["profile"]["model_median_ms"] <= 8})
    summary["goals"] = goals
    (work / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
