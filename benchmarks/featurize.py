"""Featurization throughput of molgnn against the usual baselines, on the real data sets.

What is compared with what (all in this one process, torch on one thread, same inputs for every
contender, repeats interleaved A, B, C, A, B, C, ...; figures are medians, ratios are ratios of
medians):

1. Molecules, all tox21 SMILES (``molnet/tox21.csv``; failures are counted, not fatal):
   molgnn's batch API ``MoleculeFeaturizer.featurize_many`` in chunks of 2048 (as the dataset
   builder calls it) and its one-at-a-time API ``MoleculeFeaturizer()(smiles)``, against
   ``torch_geometric.utils.from_smiles`` (one call per SMILES) and against RDKit's
   ``Chem.MolFromSmiles`` alone (the floor: no featurizer can be faster than parsing). A second
   floor, ``rdkit_read_floor``: molgnn's parse plus the least any featurizer must do through RDKit's
   Python API to read the facts that neither the SMILES nor the bonds determine: one wrapper object
   per atom and bond and nine getter calls on them (element, formal charge, hybridization, total
   hydrogens; ends, order, conjugation, ring membership), results thrown away. ``from_smiles``
   divided by it bounds what any featurizer built on RDKit's Python API can reach against
   ``from_smiles`` (``read_floor_bound_vs_from_smiles``).
   Also checks that molgnn's features cover every atom and bond fact ``from_smiles`` encodes.
   With descriptors: molgnn's ``featurize_many`` with ``descriptors="rdkit2d"`` (RDKit's 2D
   descriptors, raw; normalized later by the model with training statistics) against chemprop 2's
   featurizer with its ``v1_rdkit_2d_normalized`` descriptors (``SimpleMoleculeMolGraphFeaturizer``
   plus descriptastorus' CDF-normalized RDKit 2D descriptors, per molecule, as ``chemprop train
   --features-generators v1_rdkit_2d_normalized`` featurizes), on a fixed random sample of tox21
   (seed 0; chemprop takes about 20 ms per molecule) and, for molgnn, also on every SMILES.
2. Crystals, crafted726 DDEC CIFs: molgnn's ``CrystalFeaturizer(charges="cif")`` (gemmi reader,
   C neighbour list, 12 nearest, Gaussian expansion) against the original CGCNN recipe
   (pymatgen ``Structure.from_file``, ``get_all_neighbors(8.0)``, sort and keep 12 per atom,
   numpy Gaussian expansion, ``atom_init.json`` element vectors). The baseline takes about a
   second per MOF, so the ratio is measured on a fixed random sample (seed 0); molgnn's own rate
   on all files. Checks that both give the same per-atom neighbour distances (1e-4 Å).
3. Datasets: ``molgnn.data.load_dataset`` first build (one process) against a cache hit, for
   tox21 and crafted726, and the peak memory of a crafted726 build in a fresh subprocess.

``--quick`` (CI smoke test, < 1 min): the first 1500 tox21 SMILES, the first 40 crafted726 files
with a baseline sample of 5, and hmof100 instead of crafted726 for the cache test (its JSON keys
then name hmof100). The last line printed is one JSON object with every figure.

Run: ``python benchmarks/featurize.py [--quick] [--repeats 3] [--data-dir DIR] [--out FILE.md]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from peers import chemprop_unavailable, git_commit  # benchmarks/peers.py, beside this script

REPO = Path(__file__).resolve().parents[1]
CHUNK = 2048  # molgnn.featurize.molecule.MoleculeFeaturizer.chunk_size
CUTOFF, MAX_NEIGHBORS, GAUSSIAN_STEP = 8.0, 12, 0.2
GOALS = {"molgnn_vs_from_smiles": 3.0, "descriptors_vs_chemprop": 2.0, "molgnn_fraction_of_parse_rate": 0.4,
         "crystal_speedup_vs_cgcnn": 30.0, "cache_read_speedup": 20.0}
FULL = {"smiles": None, "cifs": None, "baseline_sample": 60, "cache_sets": ("tox21", "crafted726"), "descriptor_sample": 1000}
QUICK = {"smiles": 1500, "cifs": 40, "baseline_sample": 5, "cache_sets": ("tox21", "hmof100"), "descriptor_sample": 100}
# The atom and bond facts of torch_geometric's from_smiles -> the molgnn feature-name prefix covering each.
ATOM_FACTS = {"atomic_num": "element", "chirality": "chirality", "degree": "degree", "formal_charge": "formal_charge",
              "num_hs": "total_hs", "num_radical_electrons": "radical_electrons", "hybridization": "hybridization",
              "is_aromatic": "aromatic", "is_in_ring": "in_ring"}
BOND_FACTS = {"bond_type": "bond_type", "stereo": "stereo", "is_conjugated": "conjugated"}


def interleaved(contenders: dict, repeats: int) -> tuple[dict[str, list[float]], dict]:
    """Run every contender once per round, ``repeats`` rounds; seconds per run, and each one's last result."""
    seconds = {name: [] for name in contenders}
    results = {}
    for _ in range(repeats):
        for name, run in contenders.items():
            gc.collect()
            start = time.perf_counter()
            results[name] = run()
            seconds[name].append(time.perf_counter() - start)
    return seconds, results


def per_item_ms(seconds: list[float], items: int) -> dict:
    runs = [1e3 * s / items for s in seconds]
    return {"median": statistics.median(runs), "min": min(runs), "max": max(runs), "items": items}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------------------------------- molecules

def check_feature_coverage(featurizer) -> str:
    """Fail unless molgnn encodes every fact from_smiles does; return a one-line comparison."""
    from torch_geometric.utils.smiles import e_map, x_map

    def covered(prefix: str, names: list[str]) -> bool:
        return any(name == prefix or name.startswith(prefix + "=") for name in names)

    missing = [f for f in x_map if not covered(ATOM_FACTS.get(f, f), featurizer.atom_feature_names)]
    missing += [f for f in e_map if not covered(BOND_FACTS.get(f, f), featurizer.edge_feature_names)]
    if missing:
        raise AssertionError(f"molgnn features miss from_smiles facts {missing}")
    return (f"features: molgnn {featurizer.num_atom_features} atom / {featurizer.num_edge_features} bond one-hot "
            f"columns vs from_smiles {len(x_map)} categorical atom / {len(e_map)} bond columns; "
            f"molgnn covers all {len(x_map)} + {len(e_map)} from_smiles facts")


def bench_molecules(smiles: list[str], repeats: int) -> dict:
    from rdkit import Chem, RDLogger
    from torch_geometric.utils import from_smiles

    from molgnn.chem.errors import InvalidInputError
    from molgnn.chem.molecule import parse_many
    from molgnn.featurize.molecule import MoleculeFeaturizer

    RDLogger.DisableLog("rdApp.*")
    atom_getters = (Chem.Atom.GetAtomicNum, Chem.Atom.GetFormalCharge, Chem.Atom.GetHybridization,
                    Chem.Atom.GetTotalNumHs)
    bond_getters = (Chem.Bond.GetBeginAtomIdx, Chem.Bond.GetEndAtomIdx, Chem.Bond.GetBondTypeAsDouble,
                    Chem.Bond.GetIsConjugated, Chem.Bond.IsInRing)
    featurizer = MoleculeFeaturizer()
    ids = [str(i) for i in range(len(smiles))]

    def molgnn_batch() -> int:
        graphs = 0
        for start in range(0, len(smiles), CHUNK):
            collated, _ = featurizer.featurize_many(smiles[start:start + CHUNK], ids[start:start + CHUNK])
            graphs += len(collated)
        return len(smiles) - graphs

    def molgnn_single() -> int:
        failed = 0
        for text in smiles:
            try:
                featurizer(text)
            except InvalidInputError:
                failed += 1
        return failed

    def pyg_from_smiles() -> int:
        failed = 0
        for text in smiles:
            try:  # from_smiles turns an unparsable SMILES into an empty graph instead of raising
                failed += from_smiles(text).num_nodes == 0
            except Exception:  # noqa: BLE001 - a baseline's failure is counted, not fatal
                failed += 1
        return failed

    def rdkit_parse() -> int:
        return sum(Chem.MolFromSmiles(text) is None for text in smiles)

    def rdkit_read_floor() -> int:
        failed = 0
        for start in range(0, len(smiles), CHUNK):
            mols, _, rejects = parse_many(smiles[start:start + CHUNK], ids[start:start + CHUNK])
            failed += len(rejects)
            gc.disable()  # as molgnn does while wrappers pile up
            try:
                atoms = [atom for mol in mols for atom in map(mol.GetAtomWithIdx, range(mol.GetNumAtoms()))]
                bonds = [bond for mol in mols for bond in map(mol.GetBondWithIdx, range(mol.GetNumBonds()))]
                for getter in atom_getters:
                    list(map(getter, atoms))
                for getter in bond_getters:
                    list(map(getter, bonds))
            finally:
                gc.enable()
        return failed

    contenders = {"molgnn_batch": molgnn_batch, "molgnn_single": molgnn_single,
                  "from_smiles": pyg_from_smiles, "rdkit_parse": rdkit_parse, "rdkit_read_floor": rdkit_read_floor}
    for text in ("CCO", "c1ccccc1O"):  # warm up: imports, lazily built encoders
        featurizer(text), from_smiles(text)
    print(check_feature_coverage(featurizer), flush=True)
    seconds, failures = interleaved(contenders, repeats)
    timing = {name: per_item_ms(s, len(smiles)) for name, s in seconds.items()}
    for name, t in timing.items():
        print(f"tox21 {name:14s} {t['median']:.4f} ms/mol (runs {t['min']:.4f}-{t['max']:.4f}), "
              f"{1e3 / t['median']:,.0f} mol/s, {failures[name]} failed", flush=True)
    return {"timing": timing, "failures": failures, "molecules": len(smiles)}


def bench_descriptors(smiles: list[str], sample_size: int, repeats: int) -> dict:
    """molgnn with RDKit 2D descriptors against chemprop's featurizer with ``v1_rdkit_2d_normalized``."""
    import warnings

    from rdkit import Chem

    from molgnn.featurize.molecule import MoleculeFeaturizer

    featurizer = MoleculeFeaturizer(descriptors="rdkit2d")
    sample = random.Random(0).sample(smiles, min(sample_size, len(smiles)))

    def molgnn(items: list[str]):
        ids = [str(i) for i in range(len(items))]

        def run() -> int:
            graphs = 0
            for start in range(0, len(items), CHUNK):
                collated, _ = featurizer.featurize_many(items[start:start + CHUNK], ids[start:start + CHUNK])
                graphs += len(collated)
            return len(items) - graphs
        return run

    contenders = {"molgnn_descriptors_sample": molgnn(sample), "molgnn_descriptors_all": molgnn(smiles)}
    unavailable = chemprop_unavailable()
    if unavailable is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # chemprop warns that RDKit 2D features are not normally distributed
            from chemprop.featurizers import SimpleMoleculeMolGraphFeaturizer
            from chemprop.featurizers.molecule import MoleculeFeaturizerRegistry

            graph_featurizer = SimpleMoleculeMolGraphFeaturizer()
            descriptors = MoleculeFeaturizerRegistry["v1_rdkit_2d_normalized"]()

        def chemprop() -> int:
            failed = 0
            for text in sample:
                mol = Chem.MolFromSmiles(text)
                if mol is None:
                    failed += 1
                    continue
                graph_featurizer(mol), descriptors(mol)
            return failed

        contenders["chemprop_rdkit_2d_normalized_sample"] = chemprop
        graph_featurizer(Chem.MolFromSmiles("CCO")), descriptors(Chem.MolFromSmiles("CCO"))  # warm up
    featurizer("CCO")
    seconds, failures = interleaved(contenders, repeats)
    timing = {name: per_item_ms(s, len(sample) if name.endswith("sample") else len(smiles)) for name, s in seconds.items()}
    for name, t in timing.items():
        print(f"tox21 {name:36s} {t['median']:.4f} ms/mol, {failures[name]} failed", flush=True)
    speedup = (timing["chemprop_rdkit_2d_normalized_sample"]["median"] / timing["molgnn_descriptors_sample"]["median"]
               if unavailable is None else None)
    return {"timing": timing, "failures": failures, "sample": len(sample), "descriptors": len(featurizer.descriptor_names),
            "chemprop": unavailable or "ok", "speedup": speedup}


# ------------------------------------------------------------------------------------------ crystals

class CGCNNBaseline:
    """The original CGCNN ``CIFData.__getitem__``: pymatgen neighbours, numpy Gaussian expansion."""

    def __init__(self, atom_init: Path):
        # CGCNN's AtomCustomJSONInitializer, loaded once per dataset as the original does.
        raw = json.loads(atom_init.read_text())
        self.embedding = {int(z): np.array(v, dtype=float) for z, v in raw.items()}
        self.filter = np.arange(0.0, CUTOFF + GAUSSIAN_STEP, GAUSSIAN_STEP)  # GaussianDistance(0, 8, 0.2)

    def __call__(self, path: Path, exact_coordinates: bool = False):
        from pymatgen.core import Structure

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # frac_tolerance=0 keeps the file's coordinates (by default pymatgen snaps 0.66673 to 2/3).
            crystal = Structure.from_file(path, **({"frac_tolerance": 0.0} if exact_coordinates else {}))
        atom_fea = np.vstack([self.embedding[crystal[i].specie.number] for i in range(len(crystal))])
        all_nbrs = [sorted(nbrs, key=lambda x: x.nn_distance) for nbrs in crystal.get_all_neighbors(CUTOFF)]
        nbr_fea_idx, nbr_fea = [], []
        for nbr in all_nbrs:
            pad = max(MAX_NEIGHBORS - len(nbr), 0)
            nbr_fea_idx.append([x.index for x in nbr[:MAX_NEIGHBORS]] + [0] * pad)
            nbr_fea.append([x.nn_distance for x in nbr[:MAX_NEIGHBORS]] + [CUTOFF + 1.0] * pad)
        nbr_fea_idx, nbr_fea = np.array(nbr_fea_idx), np.array(nbr_fea)
        expanded = np.exp(-((nbr_fea[..., np.newaxis] - self.filter) ** 2) / GAUSSIAN_STEP**2)
        return atom_fea, nbr_fea_idx, nbr_fea, expanded


def check_neighbor_distances(featurizer, baseline: CGCNNBaseline, paths: list[Path]) -> dict:
    """Largest gap between molgnn's and the baseline's per-atom sorted neighbour distances; fails above 1e-4 Å.

    The check reads the CIFs with the same coordinates (``exact_coordinates``); the gap against
    pymatgen's default reading, which snaps coordinates near 1/3 and 2/3, is reported alongside.
    """
    def gap(path: Path, exact: bool) -> float:
        graph = featurizer.graph(path)
        dist, centers = graph.edge_dist.numpy().astype(float), graph.edge_index[1].numpy()
        theirs = baseline(path, exact_coordinates=exact)[2]
        if len(theirs) != graph.num_nodes:
            raise AssertionError(f"{path.stem}: molgnn reads {graph.num_nodes} atoms, pymatgen {len(theirs)}")
        return max(np.abs(np.sort(dist[centers == i]) - theirs[i, : int((centers == i).sum())]).max()
                   for i in range(graph.num_nodes))

    worst = max(gap(path, exact=True) for path in paths)
    worst_default = max(gap(path, exact=False) for path in paths)
    names = [p.stem for p in paths]
    if not worst <= 1e-4:
        raise AssertionError(f"molgnn and CGCNN neighbour distances differ by {worst:.2e} Å on {names}")
    print(f"check: per-atom neighbour distances of {', '.join(names)} match the CGCNN baseline within "
          f"{worst:.1e} Å (<= 1e-4); against pymatgen's default (snapped) coordinates: {worst_default:.1e} Å",
          flush=True)
    return {"structures": names, "max_abs_diff_A": worst, "max_abs_diff_default_pymatgen_A": worst_default, "ok": True}


def bench_crystals(paths: list[Path], sample_size: int, atom_init: Path, repeats: int) -> dict:
    from molgnn.chem.errors import InvalidInputError
    from molgnn.featurize.crystal import CrystalFeaturizer

    featurizer = CrystalFeaturizer(charges="cif")
    baseline = CGCNNBaseline(atom_init)
    sample = [paths[i] for i in sorted(random.Random(0).sample(range(len(paths)), min(sample_size, len(paths))))]

    def molgnn(files: list[Path]) -> list[str]:
        rejected = []
        for path in files:
            try:
                featurizer(path)
            except InvalidInputError as error:
                rejected.append(f"{error.input_id}: {error.reason}")
        return rejected

    def cgcnn(files: list[Path]) -> list[str]:
        failed = []
        for path in files:
            try:
                baseline(path)
            except Exception as error:  # noqa: BLE001 - a baseline's failure is counted, not fatal
                failed.append(f"{path.stem}: {error}")
        return failed

    featurizer(sample[0]), baseline(sample[0])  # warm up: imports, element tables
    contenders = {"molgnn_all": lambda: molgnn(paths), "molgnn_sample": lambda: molgnn(sample),
                  "cgcnn_baseline_sample": lambda: cgcnn(sample)}
    seconds, failures = interleaved(contenders, repeats)
    sizes = {"molgnn_all": len(paths), "molgnn_sample": len(sample), "cgcnn_baseline_sample": len(sample)}
    timing = {name: per_item_ms(s, sizes[name]) for name, s in seconds.items()}
    for name, t in timing.items():
        print(f"crafted726 {name:22s} {t['median']:8.2f} ms/structure (runs {t['min']:.2f}-{t['max']:.2f}) over "
              f"{t['items']} files, {len(failures[name])} rejected", flush=True)
    for reason in failures["molgnn_all"]:
        print(f"  molgnn rejects {reason}", flush=True)
    rejected = {r.split(":")[0] for r in failures["molgnn_sample"]}
    accepted = [p for p in sample if p.stem not in rejected][:3]
    check = check_neighbor_distances(featurizer, baseline, accepted)
    return {"timing": timing, "rejected": failures, "sample": [p.stem for p in sample], "check": check}


# ------------------------------------------------------------------------------------------- caching

def bench_cache(name: str, data_dir: Path, repeats: int) -> dict:
    """First build (one process) vs cache hits of ``load_dataset``; peak RSS of this process around the build."""
    from molgnn.data import load_dataset

    def load(cache: str):
        return load_dataset(name, data_dir=data_dir, cache_dir=cache, workers=1, progress=False)

    with tempfile.TemporaryDirectory(prefix="molgnn-bench-") as cache:
        rss_before = peak_rss_mb()
        gc.collect()
        start = time.perf_counter()
        dataset = load(cache)
        build = time.perf_counter() - start
        rss_after = peak_rss_mb()
        graphs, rejects = len(dataset), len(dataset.rejects)
        del dataset
        seconds, _ = interleaved({"read": lambda: len(load(cache))}, repeats)
    read = statistics.median(seconds["read"])
    print(f"cache {name}: first build {build:.2f} s, cached read {read * 1e3:.1f} ms (median of {repeats}), "
          f"{build / read:.0f}x; {graphs} graphs, {rejects} rejected; peak RSS {rss_before:.0f} -> {rss_after:.0f} MB",
          flush=True)
    return {"build_s": build, "read_s": read, "read_runs_s": seconds["read"], "speedup": build / read,
            "graphs": graphs, "rejected": rejects, "peak_rss_mb_before": rss_before, "peak_rss_mb_after": rss_after}


def build_peak_rss_in_subprocess(name: str, data_dir: Path) -> dict:
    """Peak RSS (MB) of a fresh process after importing molgnn, and after it also built ``name``.

    The child reports its own high-water mark (``VmHWM``). Its ``ru_maxrss``, and so this
    process's ``RUSAGE_CHILDREN``, would not do: Linux carries the parent's peak RSS over the
    fork and exec into the child's ``ru_maxrss``.
    """
    hwm = "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))"
    with tempfile.TemporaryDirectory(prefix="molgnn-bench-") as cache:
        code = "; ".join([
            "import torch", "torch.set_num_threads(1)", "from molgnn.data import load_dataset", hwm,
            f"load_dataset({name!r}, data_dir={str(data_dir)!r}, cache_dir={cache!r}, workers=1, progress=False)", hwm])
        done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    imported, built = (int(kb) / 1024 for kb in done.stdout.split()[-2:])
    print(f"peak RSS of a fresh process: {imported:.0f} MB after importing molgnn, {built:.0f} MB after building "
          f"{name} (one process)", flush=True)
    return {"import_only_subprocess": imported, f"{name}_build_subprocess": built}


# ---------------------------------------------------------------------------------------------- main

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("MOLGNN_DATA_DIR") or REPO.parent / "shared" / "data"))
    parser.add_argument("--quick", action="store_true", help="small subsets (CI smoke test, < 1 min)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats per contender (default 3)")
    parser.add_argument("--out", type=Path, help="also write the results as a Markdown table")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    return args


def markdown(mol: dict, cry: dict, cache: dict, summary: dict) -> str:
    rows = ["| benchmark | contender | items | median ms/item | min-max ms/item |", "|---|---|---|---|---|"]
    for section, timing in (("tox21", mol["timing"]), ("tox21 descriptors", summary["tox21_descriptors"]["timing"]),
                            ("crafted726", cry["timing"])):
        for name, t in timing.items():
            rows.append(f"| {section} | {name} | {t['items']} | {t['median']:.4f} | {t['min']:.4f}-{t['max']:.4f} |")
    for name, c in cache.items():
        rows.append(f"| cache {name} | first build / cached read | {c['graphs']} | {c['build_s'] * 1e3:.1f} / "
                    f"{c['read_s'] * 1e3:.1f} ms total | |")
    lines = ["| figure | value | goal | met |", "|---|---|---|---|"]
    figures = {key: summary[key] for key in ("molgnn_vs_from_smiles", "molgnn_fraction_of_parse_rate",
                                             "crystal_speedup_vs_cgcnn", "descriptors_vs_chemprop")
               if summary[key] is not None}
    figures.update({f"cache_read_speedup:{n}": v for n, v in summary["cache_read_speedup"].items()})
    for key, value in figures.items():
        met = summary["goals_met"][key]
        lines.append(f"| {key} | {value:.2f} | >= {GOALS[key.split(':')[0]]:g} | {'yes' if met else 'no'} |")
    mode = "quick" if summary["quick"] else "full"
    return f"# Featurization benchmark ({mode}, {summary['repeats']} repeats)\n\n" + "\n".join(rows) + \
        "\n\n" + "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(1)
    config = QUICK if args.quick else FULL
    began = time.perf_counter()
    rss = {"start": peak_rss_mb()}
    print(f"molgnn featurization benchmark ({'quick' if args.quick else 'full'}, {args.repeats} interleaved "
          f"repeats, data {args.data_dir})", flush=True)

    smiles = pd.read_csv(args.data_dir / "molnet" / "tox21.csv", dtype=str, keep_default_na=False)["smiles"].tolist()
    mol = bench_molecules(smiles[: config["smiles"]], args.repeats)
    rss["after_molecules"], seconds = peak_rss_mb(), {"molecules": time.perf_counter() - began}
    described = bench_descriptors(smiles[: config["smiles"]], config["descriptor_sample"], args.repeats)
    seconds["descriptors"] = time.perf_counter() - began - sum(seconds.values())

    cifs = sorted((args.data_dir / "crafted726" / "cif" / "DDEC").glob("*.cif"))[: config["cifs"]]
    cry = bench_crystals(cifs, config["baseline_sample"], args.data_dir / "cgcnn-sample" / "atom_init.json",
                         args.repeats)
    rss["after_crystals"], seconds["crystals"] = peak_rss_mb(), time.perf_counter() - began - sum(seconds.values())

    cache = {name: bench_cache(name, args.data_dir, args.repeats) for name in config["cache_sets"]}
    rss["after_cache"] = peak_rss_mb()
    seconds["cache"] = time.perf_counter() - began - sum(seconds.values())
    rss.update(build_peak_rss_in_subprocess(config["cache_sets"][-1], args.data_dir))
    seconds["subprocess"] = time.perf_counter() - began - sum(seconds.values())

    ms = {name: t["median"] for name, t in mol["timing"].items()}
    crystal_ms = {name: t["median"] for name, t in cry["timing"].items()}
    summary = {
        "tox21_ms_per_mol": ms,
        "tox21_failures": mol["failures"],
        "tox21_molecules": mol["molecules"],
        "molgnn_vs_from_smiles": ms["from_smiles"] / ms["molgnn_batch"],
        "molgnn_single_vs_from_smiles": ms["from_smiles"] / ms["molgnn_single"],
        "molgnn_fraction_of_parse_rate": ms["rdkit_parse"] / ms["molgnn_batch"],
        "molgnn_fraction_of_read_floor_rate": ms["rdkit_read_floor"] / ms["molgnn_batch"],
        "read_floor_bound_vs_from_smiles": ms["from_smiles"] / ms["rdkit_read_floor"],
        "tox21_descriptors": described,
        "descriptors_vs_chemprop": described["speedup"],
        "crafted726_ms_per_structure": {"molgnn": crystal_ms["molgnn_all"],
                                        "molgnn_sample": crystal_ms["molgnn_sample"],
                                        "cgcnn_baseline": crystal_ms["cgcnn_baseline_sample"]},
        "crafted726_structures": {"molgnn": len(cifs), "sample": len(cry["sample"])},
        "crafted726_molgnn_rejected": len(cry["rejected"]["molgnn_all"]),
        "crystal_speedup_vs_cgcnn": crystal_ms["cgcnn_baseline_sample"] / crystal_ms["molgnn_sample"],
        "neighbour_check": cry["check"],
        "cache_read_speedup": {name: c["speedup"] for name, c in cache.items()},
        "cache_seconds": {name: {"build": c["build_s"], "read": c["read_s"]} for name, c in cache.items()},
        "peak_rss_mb": rss,
    }
    summary["goals_met"] = {key: summary[key] >= GOALS[key] for key in
                            ("molgnn_vs_from_smiles", "molgnn_fraction_of_parse_rate", "crystal_speedup_vs_cgcnn")}
    summary["goals_met"]["descriptors_vs_chemprop"] = (None if described["speedup"] is None
                                                       else described["speedup"] >= GOALS["descriptors_vs_chemprop"])
    summary["goals_met"].update({f"cache_read_speedup:{name}": s >= GOALS["cache_read_speedup"]
                                 for name, s in summary["cache_read_speedup"].items()})
    summary.update({"quick": args.quick, "repeats": args.repeats, "seconds": time.perf_counter() - began,
                    "section_seconds": seconds, "commit": git_commit()})

    print(f"molgnn vs from_smiles: {summary['molgnn_vs_from_smiles']:.2f}x (goal >= 3); fraction of the RDKit "
          f"parse rate: {summary['molgnn_fraction_of_parse_rate']:.2f} (goal >= 0.4); any featurizer reading RDKit's "
          f"atoms and bonds: at most {summary['read_floor_bound_vs_from_smiles']:.2f}x from_smiles, molgnn at "
          f"{summary['molgnn_fraction_of_read_floor_rate']:.2f} of that rate; crystals vs CGCNN: "
          f"{summary['crystal_speedup_vs_cgcnn']:.1f}x (goal >= 30); with descriptors vs chemprop rdkit_2d_normalized: "
          f"{described['speedup'] or float('nan'):.1f}x (goal >= 2); total {summary['seconds']:.0f} s", flush=True)
    if args.out:
        args.out.write_text(markdown(mol, cry, cache, summary))
        print(f"wrote {args.out}", flush=True)
    print(json.dumps(summary, default=float))
    return summary


if __name__ == "__main__":
    main()
