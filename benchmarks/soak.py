"""Soak test of ``molgnn screen``: 10^5 good, bad and hostile records, a ``kill -9`` in the middle, and a resume.

What is screened (two libraries, as a screen takes one kind of record):

1. SMILES (98% of the records): the SMILES of muv and hiv (``molnet/*.csv.gz``), one in ten replaced
   by a bad or hostile one in rotation: a syntax error, a valence error, an empty cell, whitespace
   inside (``CC\\nCC``), a NUL byte, random punctuation, a 2,000-atom chain, a salt of many parts.
   Model: AttentiveFP (1 layer) trained here for 1 epoch on 300 sider molecules.
2. CIFs (2%): crafted726 and hmof100 files, one in four replaced by a hostile one in rotation:
   a 0.01 Å cell length, a file cut at a row boundary, a byte-order mark (good), two data blocks,
   an unknown element ``Xx``, a 10 Å cube of 1,000 atoms 1 Å apart (good but heavy), an empty
   file, binary garbage. Model: CGCNN trained here for 1 epoch on 24 crafted726 structures.

Each library is screened by ``molgnn screen --workers 2`` as its own process; once about half of
its chunks are written the process gets ``kill -9``, its workers are watched for 15 s (none may
outlive it), and the same command is run again, which resumes. Checked: rows out = rows in, every
library index exactly once and in order, the ids those of the library, no orphaned worker. Memory:
the peak resident memory of the screen's process tree (parent + workers, sampled every 0.2 s) in
the killed run and in the resumed run, and in the first and second half of the resumed run's
samples once its first chunk is written (flat: ratios near 1). The floor beside the screen's rate is RDKit parsing alone of the
same SMILES in one process (records/s).

``--quick`` (CI smoke test, about a minute): 3,000 SMILES and 64 CIFs. The last line printed is one
JSON object; ``--out`` also writes it (with the commit it ran on) to a file.

Run (on a shared machine, under ``nice -n 19``): ``python benchmarks/soak.py [--quick] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from peers import git_commit  # benchmarks/peers.py, beside this script

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
BAD_SMILES = ["C1CC(", "C(C)(C)(C)(C)C", "", "CC\nCC", "CC\x00O", "#($)(]", "C" * 2000, ".".join(["[Na+].[Cl-]"] * 50)]
RSS_POLL = 0.2


def smiles_library(data_dir: Path, count: int, path: Path) -> int:
    frames = [pd.read_csv(data_dir / "molnet" / name, usecols=["smiles"]) for name in ("muv.csv.gz", "hiv.csv.gz")]
    smiles = pd.concat(frames)["smiles"].astype(str).tolist()
    rows = [BAD_SMILES[(k // 10) % len(BAD_SMILES)] if k % 10 == 9 else smiles[k % len(smiles)] for k in range(count)]
    pd.DataFrame({"id": [f"m{k}" for k in range(count)], "smiles": rows}).to_csv(path, index=False)
    return count


def cif_library(data_dir: Path, count: int, folder: Path) -> int:
    good = sorted((data_dir / "crafted726" / "cif" / "DDEC").glob("*.cif")) + sorted((data_dir / "hmof100" / "cif").glob("*.cif"))
    text = good[0].read_text()
    cube = "\n".join(f"C {i / 10:.1f} {j / 10:.1f} {k / 10:.1f}" for i in range(10) for j in range(10) for k in range(10))
    hostile = [re.sub(r"_cell_length_a\s+\S+", "_cell_length_a 0.01", text), "".join(text.splitlines(keepends=True)[:30]),
               "\ufeff" + text, text + "\n" + text.replace("data_", "data_second_", 1), text.replace("\n Zn ", "\n Xx ", 1),
               "data_cube\n_cell_length_a 10\n_cell_length_b 10\n_cell_length_c 10\n_cell_angle_alpha 90\n_cell_angle_beta 90\n"
               "_cell_angle_gamma 90\nloop_\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
               + cube + "\n", "", bytes(range(256)).decode("latin-1") * 4]
    folder.mkdir(parents=True)
    for k in range(count):
        target = folder / f"s{k:06d}.cif"
        if k % 4 == 3:
            target.write_text(hostile[(k // 4) % len(hostile)], encoding="utf-8")
        else:
            shutil.copyfile(good[k % len(good)], target)
    return count


def train_models(data_dir: Path, work: Path) -> tuple[Path, Path]:
    from molgnn.data.build import dataset_from_inputs
    from molgnn.featurize.crystal import CrystalFeaturizer
    from molgnn.featurize.molecule import MoleculeFeaturizer
    from molgnn.train.config import TrainConfig
    from molgnn.train.trainer import train

    sider = pd.read_csv(data_dir / "molnet" / "sider.csv").head(300)
    molecules = dataset_from_inputs(sider["smiles"].tolist(), sider.iloc[:, 1:].to_numpy(float), MoleculeFeaturizer(),
                                    targets=list(sider.columns[1:]), task="multilabel", name="sider300")
    config = dict(epochs=1, batch_size=32, split_fractions=(0.8, 0.2, 0.0))
    train(molecules, work / "molecule-run", TrainConfig(model="attentivefp", model_args={"hidden": 32, "layers": 1, "timesteps": 1},
                                                       **config), resume=False, progress=False)
    files = sorted(sorted((data_dir / "crafted726" / "cif" / "DDEC").glob("*.cif"), key=lambda p: p.stat().st_size)[:24])
    lcd = pd.read_csv(data_dir / "crafted726" / "structural_data.csv", index_col="Name").loc[[f.stem for f in files], ["LCD"]]
    crystals = dataset_from_inputs(files, lcd.to_numpy(float), CrystalFeaturizer(charges="none"), ids=[f.stem for f in files],
                                   targets=["LCD"], task="regression", name="crafted24")
    train(crystals, work / "crystal-run", TrainConfig(model="cgcnn", model_args={"hidden": 16, "layers": 1}, **config),
          resume=False, progress=False)
    return work / "molecule-run", work / "crystal-run"


def tree_rss_mb(process: psutil.Process) -> float:
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def run_screen(command: list[str], kill_after_parts: int | None, parts: Path) -> dict:
    """Run the screen; with ``kill_after_parts``, ``kill -9`` it once that many chunks are written and watch its workers."""
    start = time.perf_counter()
    popen = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    process, samples, steady, workers = psutil.Process(popen.pid), [], [], set()
    written_before = len(list(parts.glob("part-*.parquet")))
    while popen.poll() is None:
        samples.append(tree_rss_mb(process))
        if len(list(parts.glob("part-*.parquet"))) > written_before:  # past start-up: imports done, chunks flowing
            steady.append(samples[-1])
        try:
            workers |= {child.pid for child in process.children(recursive=True)}
        except psutil.NoSuchProcess:
            pass
        if kill_after_parts is not None and len(list(parts.glob("part-*.parquet"))) >= kill_after_parts:
            children = [psutil.Process(pid) for pid in workers if psutil.pid_exists(pid)]
            popen.kill()
            popen.wait()
            _, alive = psutil.wait_procs(children, timeout=15)
            for orphan in alive:  # counted, then ended, so that the soak itself leaves nothing behind
                orphan.kill()
            return {"killed_after_s": time.perf_counter() - start, "orphans": len(alive), "workers_seen": len(workers),
                    "peak_tree_rss_mb": max(samples, default=0.0), "parts_at_kill": len(list(parts.glob("part-*.parquet")))}
        time.sleep(RSS_POLL)
    stdout, stderr = popen.communicate()
    if popen.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {stderr[-2000:]}")
    half = len(steady) // 2
    return {"wall_s": time.perf_counter() - start, "peak_tree_rss_mb": max(samples, default=0.0),
            "peak_first_half_mb": max(steady[:half], default=0.0), "peak_second_half_mb": max(steady[half:], default=0.0),
            "summary": json.loads(stdout.strip().splitlines()[-1])}


def soak(runs: Path, library: Path, out: Path, expected_ids: list[str], chunk_size: int, chunks: int) -> dict:
    command = [sys.executable, "-m", "molgnn", "screen", str(runs), str(library), "--out", str(out), "--workers", "2",
               "--chunk-size", str(chunk_size), "--json"]
    if library.suffix == ".csv":
        command += ["--id-column", "id"]
    killed = run_screen(command, max(chunks // 2, 1), out.with_name(out.name + ".parts"))
    resumed = run_screen(command, None, out.with_name(out.name + ".parts"))
    table = pd.read_parquet(out, columns=["index", "id", "status"])
    index = table["index"].to_numpy()
    return {"records": len(expected_ids), "rows": len(table), "rows_in_equal_rows_out": len(table) == len(expected_ids),
            "each_index_once_in_order": bool(np.array_equal(index, np.arange(len(expected_ids)))),
            "ids_match": table["id"].tolist() == expected_ids, "duplicates": int(table["index"].duplicated().sum()),
            "status": table["status"].value_counts().to_dict(), "killed": killed,
            "resumed": {k: v for k, v in resumed.items() if k != "summary"},
            "resumed_records": resumed["summary"]["resumed"], "screened_after_resume": resumed["summary"]["screened_now"],
            "records_per_s_after_resume": resumed["summary"]["records_per_s"],
            "rss_ratio_resumed_to_killed": resumed["peak_tree_rss_mb"] / max(killed["peak_tree_rss_mb"], 1e-9),
            "rss_ratio_second_to_first_half": resumed["peak_second_half_mb"] / max(resumed["peak_first_half_mb"], 1e-9)}


def rdkit_parse_rate(library: Path, sample: int) -> float:
    from rdkit import Chem, rdBase

    smiles = pd.read_csv(library, nrows=sample, keep_default_na=False)["smiles"].tolist()
    start = time.perf_counter()
    with rdBase.BlockLogs():
        for text in smiles:
            Chem.MolFromSmiles(text)
    return len(smiles) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-dir", default=os.environ.get("MOLGNN_DATA_DIR", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--work-dir", help="kept when given (default: a temporary folder, removed)")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    n_smiles, n_cifs = (3_000, 64) if args.quick else (98_000, 2_000)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="molgnn-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        molecule_run, crystal_run = train_models(data_dir, work)
        smiles_count = smiles_library(data_dir, n_smiles, work / "smiles.csv")
        cif_count = cif_library(data_dir, n_cifs, work / "cifs")
        smiles_chunk, cif_chunk = (256, 8) if args.quick else (2048, 32)
        results = {
            "smiles": soak(molecule_run, work / "smiles.csv", work / "smiles.parquet", [f"m{k}" for k in range(smiles_count)],
                           smiles_chunk, -(-smiles_count // smiles_chunk)),
            "cifs": soak(crystal_run, work / "cifs", work / "cifs.parquet", [f"s{k:06d}" for k in range(cif_count)],
                         cif_chunk, -(-cif_count // cif_chunk)),
        }
        floor = rdkit_parse_rate(work / "smiles.csv", min(smiles_count, 20_000))
        checks = {part: r["rows_in_equal_rows_out"] and r["each_index_once_in_order"] and r["ids_match"]
                  and r["duplicates"] == 0 and r["killed"]["orphans"] == 0 for part, r in results.items()}
        summary = {"benchmark": "soak", "quick": args.quick, "commit": git_commit(), "records": smiles_count + cif_count,
                   "ok": all(checks.values()), "checks": checks, **results,
                   "rdkit_parse_floor_records_per_s": floor, "wall_s": time.perf_counter() - started}
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(summary, default=str)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(summary, indent=1, default=str) + "\n")
    print(text)


if __name__ == "__main__":
    main()
