"""Resolve a dataset, featurize it in parallel, cache it on disk, and load it back.

The cache key is a hash of everything that decides the graphs: the loader and its options,
the sizes and modification times of the source files, the featurizer's full config and the
graph schema version; changing any of them builds a new cache entry instead of reusing stale
graphs. A build runs in chunks that are written to disk as they finish, so an interrupted build
resumes where it stopped. Every record that cannot be used is reported with its reason.

Several processes may ask for the same entry at once (two commands, the learners of a ``torchrun``
job, tuning trials): the first takes the entry's lock (``filelock``, ``<entry>.lock``) and builds
it, the others wait for the lock and then read what it built. ``graphs.pt`` is written last and
atomically, so an entry is complete exactly when it has one, and a reader never sees half of one.
The operating system releases the lock of a builder that dies; the next process resumes its
chunks.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from molgnn import __version__
from molgnn.atomic import atomic_path, atomic_write_text
from molgnn.chem.errors import InvalidLabelError
from molgnn.cores import plan
from molgnn.data.cards import UnknownDatasetError, get_card, list_cards
from molgnn.data.dataset import GraphDataset
from molgnn.data.paths import resolve_cache_dir, resolve_data_dir
from molgnn.data.sources import LOADERS, DatasetSpecError, RecordSet, non_finite_labels, without_rejects
from molgnn.errors import ConfigError, MolgnnError
from molgnn.featurize.base import Featurizer
from molgnn.featurize.collated import Collated
from molgnn.featurize.registry import featurizer_for_kind
from molgnn.tasks import infer_task
from molgnn.workers import start_worker

SCHEMA_VERSION = 5  # 4: records with infinite labels are rejected; 5: host-guest energies of a framework without room
GRAPHS = "graphs.pt"  # written last: an entry is complete when it has one


class DatasetBuildError(MolgnnError, RuntimeError):
    """A strict build that rejected records, or a build that produced no graph at all."""


@dataclass(frozen=True)
class DatasetSpec:
    """A resolved dataset: which loader reads which path with which options."""

    name: str
    loader: str
    path: Path
    options: dict = field(default_factory=dict)
    task: str | None = None

    @property
    def kind(self) -> str:
        """The kind of records the loader reads, ``"molecules"`` or ``"crystals"``."""
        return LOADERS[self.loader].kind

    def read(self) -> RecordSet:
        return LOADERS[self.loader].read(self.path, **self.options)

    def source_paths(self) -> list[Path]:
        """The files and folders the loader reads (their sizes and times key the cache)."""
        return LOADERS[self.loader].sources(self.path, self.options)

    def default_featurizer(self) -> Featurizer:
        """The featurizer of the records' kind, reading the partial charges of CIFs that carry them."""
        return featurizer_for_kind(self.kind).default(LOADERS[self.loader].charges_in_files)


def resolve_spec(data: str | Path, data_dir: str | Path | None = None, options: dict | None = None) -> DatasetSpec:
    """A registered name, a CGCNN folder (with ``id_prop.csv``) or a CSV of SMILES, as a spec.

    ``options`` override the card's loader options (e.g. ``{"pressures": [0.1, 1.0]}``) or, for a
    CSV, name its columns (``smiles_column``, ``targets``, ``id_column``).
    """
    options = dict(options or {})
    names = {card.name for card in list_cards()}
    if str(data) in names:
        card = get_card(str(data))
        loader = card.loader["type"]
        if loader not in LOADERS or LOADERS[loader].kind != card.kind:
            raise DatasetSpecError(f"card {card.name}: its loader {loader!r} is not a registered loader of {card.kind} "
                                   f"({', '.join(name for name, entry in LOADERS.items() if entry.kind == card.kind)})")
        base = {k: v for k, v in card.loader.items() if k not in ("type", "path", "options", "target_units")}
        if "target_units" in card.loader:
            base["units"] = dict(card.loader["target_units"])
        base.update(card.loader.get("options", {}))
        base.update(options)
        spec = DatasetSpec(card.name, loader, resolve_data_dir(data_dir) / card.loader["path"], base, card.task)
    else:
        path = Path(data).expanduser()
        if path.is_dir() and (path / "id_prop.csv").exists():
            spec = DatasetSpec(path.name, "cgcnn_folder", path, options)
        elif path.is_file() and path.name.lower().endswith((".csv", ".csv.gz")):
            spec = DatasetSpec(path.name.split(".")[0], "smiles_csv", path, options)
        else:
            raise UnknownDatasetError(
                f"{str(data)!r} is neither a registered dataset ({', '.join(sorted(names))}), "
                "a CGCNN folder with id_prop.csv, nor a CSV file of SMILES")
    allowed = LOADERS[spec.loader].options()
    unknown = set(spec.options) - allowed
    if unknown:
        raise DatasetSpecError(f"unknown option(s) {sorted(unknown)} for {spec.name}; valid: {sorted(allowed)}")
    return spec


def load_dataset(data: str | Path, data_dir: str | Path | None = None, featurizer: Featurizer | None = None,
                 options: dict | None = None, cache_dir: str | Path | None = None, workers: int | None = None,
                 strict: bool = False, progress: bool = True, rebuild: bool = False,
                 chunk_size: int | None = None, wait: float | None = None) -> GraphDataset:
    """Featurize a dataset (or read it from the cache) and return it as a ``GraphDataset``.

    Args:
        data: registered name (see ``molgnn datasets``), CGCNN folder or CSV of SMILES.
        data_dir: folder holding the registered sets' files (else ``$MOLGNN_DATA_DIR``).
        featurizer: a featurizer of the dataset's kind (``molgnn.featurize.base.Featurizer``); default
            ``DatasetSpec.default_featurizer``.
        options: loader options, see ``resolve_spec``.
        cache_dir: where processed datasets are kept (else ``$MOLGNN_CACHE_DIR`` or ``~/.cache/molgnn``).
        workers: featurization processes (default: one per core this process may use, ``molgnn.cores``;
            1 runs in this process).
        strict: raise ``DatasetBuildError`` if any record is rejected (after writing the report).
        progress: show a progress bar.
        rebuild: ignore an existing cache entry.
        chunk_size: records per chunk, the unit of parallel work and of resuming (default: the
            featurizer's ``chunk_size``).
        wait: seconds to wait for another process building the same entry before giving up with
            ``DatasetBuildError`` (default: as long as it builds).
    """
    spec = resolve_spec(data, data_dir, options)
    featurizer = spec.default_featurizer() if featurizer is None else featurizer
    if featurizer.kind != spec.kind:
        raise ConfigError(f"{spec.name} holds {spec.kind}, but the featurizer {type(featurizer).__name__} takes {featurizer.kind}")
    key = cache_key(spec, featurizer)
    folder = resolve_cache_dir(cache_dir) / spec.name / key[:16]
    if rebuild or not (folder / GRAPHS).exists():
        with _build_lock(folder, spec.name, wait, progress):
            if rebuild:
                _discard(folder)
            if not (folder / GRAPHS).exists():  # another process may have built it while this one waited
                _build(spec, featurizer, folder, workers, progress, chunk_size or featurizer.chunk_size)
    dataset = _read(folder, featurizer)
    if strict and dataset.rejects:
        raise DatasetBuildError(f"{spec.name}: {len(dataset.rejects)} record(s) rejected, "
                                f"e.g. {dataset.rejects[0]}; all are listed in {folder / 'rejects.csv'}")
    return dataset


def cache_key(spec: DatasetSpec, featurizer) -> str:
    """Hash of the loader, its options, the source files' sizes and times, and the featurizer config."""
    payload = {
        "schema": SCHEMA_VERSION,
        "loader": spec.loader,
        "options": spec.options,
        "files": [_fingerprint(p) for p in spec.source_paths()],
        "featurizer": featurizer.config(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _fingerprint(path: Path) -> str:
    entries = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for entry in entries:
        stat = entry.stat()
        digest.update(f"{entry.relative_to(path.parent)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _build(spec: DatasetSpec, featurizer: Featurizer, folder: Path, workers: int | None, progress: bool, size: int) -> None:
    records = spec.read()
    records = without_rejects(records, non_finite_labels(records.ids, records.y, records.targets))
    if len(set(records.ids)) != len(records.ids):
        seen = set()
        duplicate = next(i for i in records.ids if i in seen or seen.add(i))
        raise DatasetSpecError(f"{spec.name}: record ids must be unique, {duplicate!r} repeats")
    parts = folder / f"parts-{size}"  # chunks of another size, from a build interrupted before, are not reused
    parts.mkdir(parents=True, exist_ok=True)
    chunks = [(k, start, min(start + size, len(records))) for k, start in enumerate(range(0, len(records), size))]
    todo = [c for c in chunks if not (parts / f"{c[0]:06d}.pt").exists()]
    workers = min(plan(workers or None).workers, max(len(todo), 1))
    bar = tqdm(total=len(records), initial=len(records) - sum(e - s for _, s, e in todo), unit="record",
               desc=f"featurize {spec.name}", disable=not progress)
    jobs = [(featurizer, records.inputs[s:e], records.ids[s:e], records.y[s:e], parts / f"{k:06d}.pt")
            for k, s, e in todo]
    if workers <= 1:
        for job in jobs:
            bar.update(_featurize_chunk(*job))
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=start_worker, initargs=(os.getpid(),)) as pool:
            for future in as_completed([pool.submit(_featurize_chunk, *job) for job in jobs]):
                bar.update(future.result())
    bar.close()

    pieces = [torch.load(parts / f"{k:06d}.pt", weights_only=True) for k, _, _ in chunks]
    graphs = Collated.concat([_collated(piece) for piece in pieces])
    rejects = list(records.rejects) + [tuple(r) for piece in pieces for r in piece["rejects"]]
    if not len(graphs):
        raise DatasetBuildError(f"{spec.name}: no record could be featurized ({len(rejects)} rejected)")
    meta = {
        "name": spec.name,
        "task": infer_task(spec.task, records.y),
        "targets": records.targets,
        "units": records.units,
        "source": {"loader": spec.loader, "path": str(spec.path), "options": spec.options},
        "featurizer": featurizer.config(),
        "records": len(records) + len(records.rejects),
        "rejects": [list(r) for r in rejects],
        "excluded": [list(r) for r in records.excluded],
        "molgnn_version": __version__,
        "schema": SCHEMA_VERSION,
    }
    _write_report(folder / "rejects.csv", rejects, records.excluded)
    atomic_write_text(folder / "meta.json", json.dumps(meta, indent=1, default=str))
    _atomic_save({"data": _pack_strings(graphs.data.to_dict()), "slices": graphs.slices}, folder / GRAPHS)
    for leftover in folder.glob("parts-*"):
        shutil.rmtree(leftover)


@contextmanager
def _build_lock(folder: Path, name: str, wait: float | None, progress: bool) -> Iterator[None]:
    """The lock of the cache entry ``folder``, held while it is built; says so when another process holds it."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder.with_name(f"{folder.name}.lock"), is_singleton=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if progress:
            print(f"{name}: another process is building the cache entry {folder}; waiting for it", file=sys.stderr)
        try:
            lock.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            raise DatasetBuildError(f"{name}: waited {wait:.0f} s for another process to build the cache entry "
                                    f"{folder}; wait longer, or stop that process") from None
    try:
        yield
    finally:
        lock.release()


def _discard(folder: Path) -> None:
    """Make the entry incomplete first (readers then wait for the lock), then drop its chunks."""
    (folder / GRAPHS).unlink(missing_ok=True)
    for leftover in folder.glob("parts-*"):
        shutil.rmtree(leftover)


def _featurize_chunk(featurizer, inputs: list, ids: list[str], y: np.ndarray, out: Path) -> int:
    """Featurize one chunk, attach labels and write it atomically; returns the records handled."""
    graphs, rejects = featurizer.featurize_many(inputs, ids)
    attach_labels(graphs, ids, y)
    piece = {"data": graphs.data.to_dict(), "slices": graphs.slices, "rejects": [[e.input_id, e.reason] for e in rejects]}
    _atomic_save(piece, out)
    return len(ids)


def attach_labels(graphs: Collated, ids: list[str], y: np.ndarray) -> None:
    """Give each graph its row of ``y`` (``[len(ids), T]``, NaN = missing) as ``y`` and ``y_mask``."""
    if not len(graphs):
        return
    row = {record_id: i for i, record_id in enumerate(ids)}
    labels = torch.from_numpy(y[[row[i] for i in graphs.ids]].astype(np.float32))
    graphs.data.y = labels
    graphs.data.y_mask = ~torch.isnan(labels)
    graphs.slices["y"] = graphs.slices["y_mask"] = torch.arange(len(graphs) + 1)


def dataset_from_inputs(inputs: list, y: np.ndarray, featurizer, ids: list[str] | None = None,
                        targets: list[str] | None = None, task: str | None = None, name: str = "inputs") -> GraphDataset:
    """An in-memory ``GraphDataset`` of SMILES / CIF paths / structures with labels ``y`` (NaN = missing).

    Rejected inputs are listed in ``dataset.rejects``; nothing is cached on disk.
    """
    y = np.asarray(y, dtype=float).reshape(len(inputs), -1)
    ids = [str(i) for i in range(len(inputs))] if ids is None else [str(i) for i in ids]
    targets = targets or [f"target_{k}" for k in range(y.shape[1])]
    bad_labels = non_finite_labels(ids, y, targets)
    unlabelled = {record_id for record_id, _ in bad_labels}
    kept = [k for k, record_id in enumerate(ids) if record_id not in unlabelled]
    graphs, rejects = featurizer.featurize_many([inputs[k] for k in kept], [ids[k] for k in kept])
    rejects = [InvalidLabelError(record_id, reason) for record_id, reason in bad_labels] + rejects
    if not len(graphs):
        raise DatasetBuildError(f"{name}: no input could be featurized, e.g. {rejects[0] if rejects else 'none given'}")
    attach_labels(graphs, ids, y)
    meta = {"name": name, "task": infer_task(task, y[kept]), "targets": targets, "units": {t: "" for t in targets},
            "featurizer": featurizer.config(), "rejects": [[e.input_id, e.reason] for e in rejects], "excluded": [],
            "source": {"loader": "memory"}}
    return GraphDataset(graphs, meta, featurizer)


def _collated(piece: dict) -> Collated:
    from torch_geometric.data import Data

    return Collated(Data.from_dict(piece["data"]), piece["slices"])


_SEPARATOR = "\x1f"  # ASCII unit separator: never part of an id, a SMILES or a path


def _pack_strings(store: dict) -> dict:
    """String lists as one joined string: ``torch.load(weights_only=True)`` reads one string fast
    but unpickles a list of 100k strings item by item."""
    return {key: {"joined": _SEPARATOR.join(value)} if isinstance(value, list) and all(isinstance(v, str) for v in value)
            else value for key, value in store.items()}


def _unpack_strings(store: dict) -> dict:
    return {key: value["joined"].split(_SEPARATOR) if isinstance(value, dict) else value for key, value in store.items()}


def _atomic_save(obj, path: Path) -> None:
    with atomic_path(path) as temporary:
        torch.save(obj, temporary)


def _write_report(path: Path, rejects: list, excluded: list) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "status", "reason"])
        writer.writerows([(i, "rejected", reason) for i, reason in rejects])
        writer.writerows([(i, "excluded", reason) for i, reason in excluded])


def _read(folder: Path, featurizer) -> GraphDataset:
    stored = torch.load(folder / GRAPHS, weights_only=True)
    stored["data"] = _unpack_strings(stored["data"])
    meta = json.loads((folder / "meta.json").read_text())
    meta["cache_dir"] = str(folder)
    return GraphDataset(_collated(stored), meta, featurizer)
