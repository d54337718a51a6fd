"""``screen`` and ``predict``: stream records through featurization workers into batched inference, chunk by chunk.

The one prediction engine: ``screen`` writes a whole library's table to disk (resumable, sharded
under ``torchrun``), ``predict`` builds the same table in memory for a list of records or a small
library (``molgnn predict``, ``GNNEstimator.predict``), in this process unless given workers.

The main process reads the library as a stream, cuts its shard into chunks, hands each chunk to a
pool of worker processes (one torch thread each) with a bounded number in flight and writes each
chunk's rows atomically. Where the models run is chosen by device (``inference``): on CPU the
workers featurize and predict, so every core runs the whole pipeline; on a GPU the workers
featurize and collate, and the main process runs every model of the ensemble on the batches that
come back. Memory stays flat in the library's
size: at most a few chunks are in memory at any time, and the merge streams chunk by chunk.
Under ``torchrun`` (``RANK`` / ``WORLD_SIZE`` in the environment) each rank screens the records
``index % WORLD_SIZE == RANK``; rank 0 waits for the other ranks' done markers and merges.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from molgnn.atomic import atomic_write_text
from molgnn.cores import CorePlan, plan, torch_threads
from molgnn.distributed.environment import default_device, torchrun_environment
from molgnn.errors import MolgnnError
from molgnn.featurize.registry import kind_of_record
from molgnn.ownership import owned
from molgnn.screen import store
from molgnn.screen.ensemble import Ensemble, load_ensemble
from molgnn.screen.library import Library, open_library
from molgnn.screen.rank import top_candidates
from molgnn.screen.worker import ChunkResult, featurize_chunk, load_batches, predict_chunk, predictions, start_predicting
from molgnn.train.checkpoint import Run
from molgnn.workers import start_worker

CHARGE_PROBES = 5  # records read to decide whether a library's CIFs carry partial charges
RECORD_SECONDS = 300.0  # default time budget of one record in a worker
WORKER_MEMORY = 4 * 2**30  # default memory budget of a worker (bytes of address space beyond its start-up size)
INFERENCE = ("auto", "workers", "main")  # where the models run (see ``screen``)


class ScreenError(MolgnnError, ValueError):
    """A screen that cannot run: library and models do not fit, or charges are missing."""


@dataclass
class ScreenResult:
    """The finished screen: the table's path and the summary (counts per status, throughput, timings)."""

    path: Path
    summary: dict

    def table(self, columns: list[str] | None = None) -> pd.DataFrame:
        return store.read_table(self.path, columns)

    def top(self, k: int = 100, sort: str | None = None, **filters) -> pd.DataFrame:
        """The ``k`` best records by ``sort``; see ``molgnn.screen.rank.top_candidates``."""
        return top_candidates(self.path, k, sort, **filters)


def screen(runs: list[str | Path] | str | Path, library: str | Path | Library, out: str | Path, *,
           smiles_column: str = "smiles", id_column: str | None = None, workers: int | None = None,
           chunk_size: int | None = None, batch_size: int = 256, device: str | None = None,
           charges: str | None = None, max_atoms: int | None = None, restart: bool = False,
           progress: bool = True, rank: int | None = None, world_size: int | None = None,
           merge_timeout: float | None = None, record_seconds: float | None = RECORD_SECONDS,
           worker_memory: int | None = WORKER_MEMORY, threads: int | None = None, inference: str = "auto") -> ScreenResult:
    """Screen ``library`` with the run folder(s) ``runs``; one output row per library record.

    Args:
        runs: one run folder, or several (an ensemble: mean and std across them per target).
        library: a folder or tar/zip archive of CIFs, a CSV/SMI/Parquet file of SMILES, or
            ``core-mof[:SET]`` (see ``molgnn.screen.library``).
        out: the table to write: Parquet (``.parquet``) or CSV (``.csv``), another name is refused. Work in
            progress lives in ``<out>.parts/``; rerunning with the same arguments resumes there. The screen
            holds ``out`` while it runs (each rank its shard, ``molgnn.ownership``): another
            screen to the same table is refused with ``OutputInUseError`` naming this one.
        smiles_column, id_column: columns of a SMILES table (ids default to the row number).
        workers: featurization processes of one torch thread each (default: one per core of the
            budget; 0 featurizes in this process).
        threads: the job's core budget: workers plus the model's torch threads in this process
            (default: ``MOLGNN_THREADS`` or the cores this process may use; ``molgnn.cores``).
        chunk_size: records per chunk, the unit of work, of writing and of resuming (default: the
            featurizer's ``chunk_size``, 2048 SMILES or 32 structures).
        batch_size: graphs per model call.
        device: where the models run (default: the GPU of this rank when there is one, else CPU).
        charges: for crystal models trained on charges read from CIFs (``charges="cif"``), compute
            them instead with this scheme (e.g. ``"eqeq"``) when the library's CIFs have none.
        max_atoms: reject structures with more atoms than this (protects memory; default: the
            model's featurizer setting).
        restart: discard earlier work in ``<out>.parts/`` (otherwise it is resumed).
        rank, world_size: this process's shard (default: ``RANK`` / ``WORLD_SIZE`` or 0 / 1).
        merge_timeout: seconds rank 0 waits for the other ranks before giving up (default: forever).
        record_seconds: time budget of one record in a worker process (None: none); a record that
            takes longer gets the status ``time_budget``.
        worker_memory: memory budget of a worker process, bytes beyond its start-up size (None: none;
            Linux; the kernel's address-space limit, so heap a forked worker inherits free from this process
            is reusable beyond it); a record that needs more gets the status ``memory_budget``. A record whose worker
            dies anyway (killed by the kernel, a crash in compiled code) gets ``worker_died``; the
            screen goes on with a new worker.
        inference: where the models run: ``"workers"`` (each worker featurizes and predicts its chunks on
            CPU with its one thread, so every core runs the whole pipeline), ``"main"`` (the workers
            featurize and collate, this process runs the models in batches on ``device``), or ``"auto"``:
            ``"workers"`` on CPU, ``"main"`` on a GPU. Without workers the models run here. The table is
            the same either way.

    Returns the ``ScreenResult`` (on ranks other than 0: the shard's statistics, no table).
    """
    out = Path(out)
    store.check_table_name(out)
    rank, world = _rank_and_world(rank, world_size)
    with owned(out, "screen", shard=rank):
        device = torch.device(device) if device else default_device()
        ensemble = load_ensemble(_runs(runs), device, charges, max_atoms)
        library = _library(library, ensemble, smiles_column, id_column)
        _check_charges(ensemble, library)
        chunk_size = int(chunk_size or ensemble.featurizers[0].chunk_size)
        cores = plan(workers, threads)
        workers = cores.workers
        folder = store.work_dir(out)
        manifest = {"runs": ensemble.describe(), "library": library.identity(), "columns": ensemble.columns(),
                    "featurizers": [f.config() for f in ensemble.featurizers], "chunk_size": chunk_size,
                    "world_size": world, "format": "csv" if store.is_csv(out) else "parquet"}
        store.open_work_dir(folder, manifest, restart and rank == 0)
        if out.exists() and (folder / store.SUMMARY).exists():
            return ScreenResult(out, json.loads((folder / store.SUMMARY).read_text()))

        pool = _Workers(workers, record_seconds, worker_memory, ensemble, batch_size, _in_workers(inference, device))
        with torch_threads(cores.main_threads):
            stats = _screen_shard(ensemble, library, _Parts(folder, rank), rank, world, chunk_size, pool, device, progress)
        store.mark_done(folder, rank, stats)
        if rank != 0:
            return ScreenResult(out, {"rank": rank, "world_size": world, **stats})
        done = store.wait_for_ranks(folder, world, merge_timeout)
        start = time.perf_counter()
        counts = store.merge(folder, out, done)
        summary = _summary(out, ensemble, done, counts, cores, device, pool.placement, time.perf_counter() - start)
        atomic_write_text(folder / store.SUMMARY, json.dumps(summary, indent=1))
        store.remove_parts(folder)
        return ScreenResult(out, summary)


def predict(runs, records: Sequence | str | Path | Library, ids: Sequence[object] | None = None, *,
            smiles_column: str = "smiles", id_column: str | None = None, workers: int = 0, chunk_size: int | None = None,
            batch_size: int = 256, device: str | torch.device | None = None, charges: str | None = None,
            max_atoms: int | None = None, progress: bool = False, threads: int | None = None,
            inference: str = "auto") -> pd.DataFrame:
    """Predictions of the run(s) for ``records``: the screen's table, built in memory, in this process by default.

    Args:
        runs: a run folder or a loaded ``molgnn.train.checkpoint.Run``, or several (an ensemble:
            mean and std across them per target).
        records: a list of records of the runs' kind (SMILES strings; CIF paths, ``CifText``s or
            pymatgen Structures), or a library as ``screen`` takes it (a path, ``core-mof``, a ``Library``).
        ids: the ids of a list of records (default: their positions).
        workers: featurization processes (default 0: this process; for whole libraries use ``screen``).
        smiles_column, id_column, chunk_size, batch_size, device, charges, max_atoms, threads, inference: as for
            ``screen``.
        progress: show a progress bar.

    Returns one row per record, in order: ``index``, ``id``, ``source``, ``status`` (``ok`` or the kind
    of rejection, e.g. ``invalid_smiles``), ``reason`` (empty when ok), then one column per target
    named with its unit, ``"<target> [<unit>]"`` (probabilities for classification, values for
    regression; NaN for a rejected record), with several runs ``"<target> std [<unit>]"``, and for runs
    that recorded their training domain ``domain``: ``inside``, or why the record is outside it (an
    extrapolation; ``molgnn.train.domain``), empty for a rejected record.
    """
    device = torch.device(device) if device else default_device()
    ensemble = load_ensemble(_runs(runs), device, charges, max_atoms)
    if isinstance(records, (list, tuple)):
        _check_kind(records, ensemble)
        library = Library.in_memory(records, ids, ensemble.kind)
    else:
        library = _library(records, ensemble, smiles_column, id_column)
    frames = _Frames()
    cores = plan(int(workers), threads)
    pool = _Workers(cores.workers, RECORD_SECONDS, WORKER_MEMORY, ensemble, batch_size, _in_workers(inference, device))
    with torch_threads(cores.main_threads):
        _screen_shard(ensemble, library, frames, 0, 1, int(chunk_size or ensemble.featurizers[0].chunk_size), pool,
                      device, progress)
    if not frames.frames:
        domain = [store.DOMAIN_COLUMN] if ensemble.has_domain else []
        return pd.DataFrame(columns=store.LEADING_COLUMNS + ensemble.columns() + domain)
    return frames.table()


def _check_kind(records: Sequence, ensemble: Ensemble) -> None:
    """Refuse records of which none is of the kind the models take (CIF paths for a molecule model); a few
    odd records among the right ones become rejected rows instead."""
    kinds = set()
    for record in records:
        try:
            kinds.add(kind_of_record(record))
        except MolgnnError:
            continue
    if kinds and ensemble.kind not in kinds:
        raise ScreenError(f"the {len(records)} records are {' and '.join(sorted(kinds))} (first: a {type(records[0]).__name__}), "
                          f"but the model(s) take {ensemble.kind}")


def _runs(runs) -> list:
    return [runs] if isinstance(runs, (str, Path, Run)) else list(runs)


def _library(library: str | Path | Library, ensemble: Ensemble, smiles_column: str, id_column: str | None) -> Library:
    library = library if isinstance(library, Library) else open_library(library, smiles_column, id_column)
    if library.kind != ensemble.kind:
        raise ScreenError(f"{library.spec} is a library of {library.kind} but the model(s) take {ensemble.kind}")
    return library


class _Parts:
    """Where ``screen`` puts each chunk's rows: a part file in the work folder, which a rerun finds."""

    def __init__(self, folder: Path, rank: int):
        self.folder, self.rank = folder, rank

    def complete(self, chunk: int, indices: list[int]) -> bool:
        return store.part_is_complete(store.part_path(self.folder, self.rank, chunk), indices)

    def write(self, chunk: int, frame: pd.DataFrame) -> None:
        store.write_part(store.part_path(self.folder, self.rank, chunk), frame)


class _Frames:
    """Where ``predict`` puts each chunk's rows: in memory, put back in record order (workers finish chunks in any order)."""

    def __init__(self):
        self.frames: dict[int, pd.DataFrame] = {}

    def complete(self, chunk: int, indices: list[int]) -> bool:
        return False

    def write(self, chunk: int, frame: pd.DataFrame) -> None:
        self.frames[chunk] = frame

    def table(self) -> pd.DataFrame:
        return pd.concat([self.frames[chunk] for chunk in sorted(self.frames)], ignore_index=True)


def _in_workers(inference: str, device: torch.device) -> bool:
    """Whether the models run in the worker processes (see ``screen``'s ``inference``)."""
    if inference not in INFERENCE:
        raise ScreenError(f"inference must be one of {INFERENCE}, got {inference!r}")
    if inference == "workers" and device.type != "cpu":
        raise ScreenError(f"inference='workers' runs the models on the workers' CPU threads, but device is {device}; "
                          "use inference='main' (or 'auto') to run them on it")
    return inference == "workers" or (inference == "auto" and device.type == "cpu")


class _Workers:
    """The worker processes (none: everything in this process), kept alive through records that kill one.

    ``predicting``: each worker holds the ensemble and returns predictions (``predict_chunk``), else
    it returns collated batches (``featurize_chunk``) for this process to predict on.

    A worker that dies (killed by the kernel for memory, a crash in compiled code) breaks its pool
    and every chunk in flight. The pool is then replaced, and each chunk that was in it is
    featurized again one record at a time, alone in the new pool, to find the record that kills a
    worker: that record gets the status ``worker_died``, the others are featurized together again.
    """

    def __init__(self, count: int, record_seconds: float | None, worker_memory: int | None, ensemble: Ensemble,
                 batch_size: int, predicting: bool):
        self.count, self.record_seconds, self.worker_memory = count, record_seconds, worker_memory
        self.ensemble, self.batch_size = ensemble, batch_size
        self.predicting = predicting and count > 0
        self.pool: ProcessPoolExecutor | None = None
        self.generation = 0

    @property
    def placement(self) -> str:
        """Where the models run: ``"workers"`` or ``"main"``."""
        return "workers" if self.predicting else "main"

    def here(self, payloads: list) -> ChunkResult:
        """A chunk featurized in this process (its batches left for this process's models)."""
        return featurize_chunk(self.ensemble.featurizers, payloads, self.batch_size, None, serialize=False)

    def submit(self, payloads: list) -> tuple[Future, int]:
        if self.pool is None:
            initializer, initargs = start_worker, (os.getpid(), self.worker_memory)
            if self.predicting:
                initializer, initargs = start_predicting, (*initargs, self.ensemble)
            self.pool = ProcessPoolExecutor(max_workers=self.count, initializer=initializer, initargs=initargs)
        if self.predicting:
            return self.pool.submit(predict_chunk, payloads, self.batch_size, self.record_seconds), self.generation
        return self.pool.submit(featurize_chunk, self.ensemble.featurizers, payloads, self.batch_size,
                                self.record_seconds), self.generation

    def result(self, future: Future, generation: int, payloads: list) -> ChunkResult:
        try:
            return future.result()
        except BrokenProcessPool:
            self._replace(generation)
            return self._isolated(payloads)

    def _replace(self, generation: int) -> None:
        if generation == self.generation and self.pool is not None:  # the pool that broke, not its successor
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool, self.generation = None, self.generation + 1

    def _isolated(self, payloads: list) -> ChunkResult:
        killers = []
        for k, payload in enumerate(payloads):
            future, generation = self.submit([payload])
            try:
                future.result()
            except BrokenProcessPool:
                self._replace(generation)
                killers.append(k)
        survivors = [k for k in range(len(payloads)) if k not in killers]
        status = ["worker_died"] * len(payloads)
        reason = ["its worker process died while featurizing it (killed by the kernel, or a crash)"] * len(payloads)
        future, generation = self.submit([payloads[k] for k in survivors])
        try:
            part = future.result()
        except BrokenProcessPool:  # not one record alone: every record of the chunk keeps the status
            self._replace(generation)
            part, survivors = self._nothing(), []
        for position, k in enumerate(survivors):
            status[k], reason[k] = part.status[position], part.reason[position]
        return ChunkResult(status, reason, [survivors[position] for position in part.kept], part.batches, part.timing,
                           part.values, part.flags)

    def _nothing(self) -> ChunkResult:
        """The result of a chunk without records, as the workers would return it."""
        if self.predicting:
            return predict_chunk([], self.batch_size, ensemble=self.ensemble)
        return featurize_chunk(self.ensemble.featurizers, [], self.batch_size)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _screen_shard(ensemble: Ensemble, library: Library, sink: _Parts | _Frames, rank: int, world: int, chunk_size: int,
                  workers: _Workers, device, progress: bool) -> dict:
    """Featurize and predict this rank's records chunk by chunk, handing each chunk's rows to ``sink``."""
    started = time.perf_counter()
    timing = dict.fromkeys(("parse_s", "featurize_s", "collate_s", "model_s", "write_s"), 0.0)
    counter = {"records": 0, "chunks": 0, "screened": 0, "resumed": 0}
    total = library.count()
    bar = tqdm(total=None if total is None else len(range(rank, total, world)), unit="rec", smoothing=0.05,
               desc=f"screen {Path(library.spec).name}" + (f" [rank {rank}/{world}]" if world > 1 else ""),
               disable=not progress)
    columns = ensemble.columns()

    def finish(result: ChunkResult, chunk: int, records: list) -> None:
        for key in ("parse_s", "featurize_s", "collate_s", "model_s"):
            timing[key] += result.timing.get(key, 0.0)
        values, flags = result.values, result.flags
        if values is None:  # the batches came back: the models run here
            start = time.perf_counter()
            batches = [b if isinstance(b, list) else load_batches(b) for b in result.batches]
            values, flags = predictions(ensemble, batches, len(result.kept), device)
            timing["model_s"] += time.perf_counter() - start
        start = time.perf_counter()
        frame = pd.DataFrame({"index": np.array([r[0] for r in records], dtype=np.int64),
                              "id": [str(r[1]) for r in records], "source": [str(r[2]) for r in records],
                              "status": result.status, "reason": result.reason})
        table = np.full((len(records), len(columns)), np.nan)
        table[result.kept] = values
        frame = pd.concat([frame, pd.DataFrame(table, columns=columns)], axis=1)
        if ensemble.has_domain:
            column = np.full(len(records), None, dtype=object)  # a rejected record has no flag
            column[result.kept] = flags
            frame[store.DOMAIN_COLUMN] = column
        sink.write(chunk, frame)
        timing["write_s"] += time.perf_counter() - start
        counter["screened"] += len(records)
        bar.update(len(records))

    pending: dict = {}
    try:
        for chunk, records in enumerate(_chunks(library.records(), rank, world, chunk_size)):
            counter["records"] += len(records)
            counter["chunks"] = chunk + 1
            if sink.complete(chunk, [r[0] for r in records]):
                counter["resumed"] += len(records)
                bar.update(len(records))
                continue
            payloads = [r[3] for r in records]
            if workers.count == 0:
                finish(workers.here(payloads), chunk, records)
                continue
            future, generation = workers.submit(payloads)
            pending[future] = (chunk, records, payloads, generation)
            while len(pending) > workers.count:  # one chunk waiting per worker: memory bounded by the workers, not the library
                _finish_completed(pending, workers, finish)
        while pending:
            _finish_completed(pending, workers, finish)
    finally:
        bar.close()
        workers.close()
    wall = time.perf_counter() - started
    return {**counter, "wall_s": wall, "timing_s": timing,
            "records_per_s": counter["screened"] / wall if wall > 0 else None}


def _finish_completed(pending: dict, workers: _Workers, finish) -> None:
    completed, _ = wait(pending, return_when=FIRST_COMPLETED)
    for future in completed:
        chunk, records, payloads, generation = pending.pop(future)
        finish(workers.result(future, generation, payloads), chunk, records)


def _chunks(records: Iterator, rank: int, world: int, size: int) -> Iterator[list]:
    chunk = []
    for record in records:
        if record[0] % world != rank:
            continue
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_charges(ensemble: Ensemble, library: Library) -> None:
    """Refuse early, and say what to do, when a model reads CIF charges that the library lacks."""
    needs = [f for f in ensemble.featurizers if getattr(f, "charges", "none") == "cif"]
    if not needs:
        return
    for probe, (_, record_id, _, payload) in enumerate(library.records()):
        if probe == CHARGE_PROBES:
            return
        [crystal], _ = needs[0].read_many([payload], [record_id])
        if crystal is None:
            continue  # a bad record gets its status during the screen
        if crystal.charges is not None:
            return
        raise ScreenError(
            f"the model(s) {[str(run.path) for run in ensemble.runs]} read partial charges from the CIF files (featurizer "
            f"charges='cif'), but {library.spec} has none (first record: {record_id}, no _atom_site_charge); "
            "pass charges='learned' (molgnn screen --charges learned: EQeq corrected towards DDEC) or charges='eqeq' "
            "to compute them")


def _rank_and_world(rank: int | None, world: int | None) -> tuple[int, int]:
    job = torchrun_environment()
    rank = job.rank if rank is None else int(rank)
    world = job.world_size if world is None else int(world)
    if not 0 <= rank < world:
        raise ScreenError(f"rank {rank} is not in 0..{world - 1}")
    return rank, world


def _summary(out: Path, ensemble: Ensemble, done: list[dict], counts: dict, cores: CorePlan, device, inference: str,
             merge_s: float) -> dict:
    records = sum(d["records"] for d in done)
    screened = sum(d["screened"] for d in done)
    wall = max(d["wall_s"] for d in done)
    timing = {key: sum(d["timing_s"][key] for d in done) for key in done[0]["timing_s"]}
    timing["merge_s"] = merge_s
    return {
        "out": str(out), "records": records, "ok": counts.get("ok", 0), "rejected": records - counts.get("ok", 0),
        "status": dict(sorted(counts.items(), key=lambda item: -item[1])),
        "models": ensemble.size, "featurizations": len(ensemble.groups), "targets": ensemble.targets,
        "columns": ensemble.columns(), "world_size": len(done), "workers": cores.workers, "threads": cores.main_threads,
        "device": str(device), "inference": inference,
        "screened_now": screened, "resumed": sum(d["resumed"] for d in done), "wall_s": wall,
        "records_per_s": screened / wall if wall > 0 else None,
        "timing_s": timing,
    }
