"""Featurization of one chunk of records, and inference on it, run in a worker process.

A chunk is read (parsed) once and goes through every distinct featurizer of the ensemble; a
record is kept only when all of them accept it, otherwise it gets the status of the first
rejection. Where the models run decides what leaves the worker:

- ``predict_chunk`` (inference in the workers, the default on CPU): the worker holds the ensemble
  (``start_predicting``) and returns the predictions and domain flags of the kept records, so
  every core runs the whole pipeline and nothing graph-sized crosses processes;
- ``featurize_chunk`` (inference in the main process, the default on a GPU): the kept graphs
  leave the worker as ready (compact) batches, serialized with ``torch.save`` into bytes;
  collation happens in the workers, in parallel, and the main process only expands the batches
  and runs the models.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from molgnn.chem import errors
from molgnn.featurize.base import Featurizer
from molgnn.featurize.collated import Collated
from molgnn.workers import RecordTimeoutError, record_time_limit, start_worker

# Status of a rejected record: the error's kind, short enough to count by.
ERROR_KINDS = {
    errors.InvalidSmilesError: "invalid_smiles",
    errors.InvalidStructureError: "invalid_structure",
    errors.UnknownElementError: "unknown_element",
    errors.PartialOccupancyError: "partial_occupancy",
    errors.OverlappingAtomsError: "overlapping_atoms",
    errors.IsolatedAtomError: "no_neighbours",
    errors.ChargeEquilibrationError: "charges_failed",
    errors.TooManyAtomsError: "too_many_atoms",
    errors.MissingChargesError: "no_charges",
    MemoryError: "memory_budget",
    RecordTimeoutError: "time_budget",
}
# Errors that a featurizer may raise on one odd record besides its typed ones (numerical corner
# cases in third-party code), and a record beyond the worker's memory or time budget; they make
# that record's status, never stop the screen.
RECORD_ERRORS = (ValueError, RuntimeError, IndexError, KeyError, ArithmeticError, MemoryError, RecordTimeoutError)
DROPPED_KEYS = ("id", "smiles")  # per-graph strings: the main process keys rows by position


def status_of(error: Exception) -> str:
    """The status kind of a rejected record."""
    kind = ERROR_KINDS.get(type(error))
    if kind:
        return kind
    return "invalid_input" if isinstance(error, errors.InvalidInputError) else "error"


def reason_of(error: Exception) -> str:
    if isinstance(error, errors.InvalidInputError):
        return error.reason
    if isinstance(error, MemoryError):
        return "featurizing it needed more memory than the worker's budget"
    if isinstance(error, RecordTimeoutError):
        return f"featurizing it {error}, the time budget of a record"
    return f"{type(error).__name__}: {error}"


@dataclass
class ChunkResult:
    """What a worker sends back: per record a status and reason; per featurizer the batches of kept
    records (``featurize_chunk``), or the kept records' predictions and domain flags (``predict_chunk``)."""

    status: list[str]
    reason: list[str]
    kept: list[int]  # chunk positions of the records every featurizer accepted, in order
    batches: list  # per featurizer its compact batches: a list of Batch, torch.save'd into bytes to leave a worker
    timing: dict[str, float] = field(default_factory=dict)
    values: np.ndarray | None = None  # [len(kept), columns] (predict_chunk)
    flags: list[str] | None = None  # per kept record, when the ensemble has a training domain (predict_chunk)


_ENSEMBLE = None  # the ensemble this worker predicts with (``start_predicting``)


def start_predicting(parent_pid: int, memory_budget: int | None, ensemble) -> None:
    """Initializer of a worker that also runs the models: ``start_worker``, then hold ``ensemble`` for ``predict_chunk``."""
    global _ENSEMBLE
    start_worker(parent_pid, memory_budget)
    _ENSEMBLE = ensemble


def predict_chunk(payloads: list, batch_size: int, record_seconds: float | None = None, ensemble=None) -> ChunkResult:
    """``featurize_chunk`` with the ensemble's featurizers, then the ensemble's predictions on CPU (and domain
    flags) of the kept records, in this process. ``ensemble``: default the one this worker holds."""
    ensemble = ensemble if ensemble is not None else _ENSEMBLE
    result = featurize_chunk(ensemble.featurizers, payloads, batch_size, record_seconds, serialize=False)
    start = time.perf_counter()
    result.values, result.flags = predictions(ensemble, result.batches, len(result.kept), torch.device("cpu"))
    result.batches = []
    result.timing["model_s"] = time.perf_counter() - start
    return result


def predictions(ensemble, group_batches: list[list], n_kept: int, device) -> tuple[np.ndarray, list[str] | None]:
    """The ensemble's ``[n_kept, columns]`` predictions from each featurizer's batches, and the domain flags."""
    values = ensemble.predict(group_batches, n_kept, device)
    return values, ensemble.flags(group_batches) if ensemble.has_domain else None


def featurize_chunk(featurizers: list[Featurizer], payloads: list, batch_size: int,
                    record_seconds: float | None = None, serialize: bool = True) -> ChunkResult:
    """Featurize ``payloads`` (records of the featurizers' kind) with each featurizer.

    The records are read (parsed) once, by the first featurizer's ``read_many``: every featurizer
    of one kind reads them alike. ``record_seconds`` is the time budget of one record (in a worker
    process; None: no budget): a stage may take that long per record, and a record that alone
    takes longer gets the status ``time_budget``. ``serialize``: each featurizer's batches as bytes (to
    leave the process), else as a list of ``Batch``.
    """
    n = len(payloads)
    status, reason = ["ok"] * n, [""] * n
    timing = {}
    start = time.perf_counter()
    read = _tolerant(featurizers[0].read_many, dict(enumerate(payloads)), status, reason, record_seconds)
    records = {int(i): record for ids, parsed in read for i, record in zip(ids, parsed) if status[int(i)] == "ok"}
    timing["parse_s"] = time.perf_counter() - start
    start = time.perf_counter()
    outputs = []
    for featurizer in featurizers:
        todo = {k: records[k] for k in sorted(records) if status[k] == "ok"}
        graphs = Collated.concat([graphs for _, graphs in _tolerant(featurizer.featurize_many, todo, status, reason,
                                                                     record_seconds)])
        outputs.append((graphs, {int(i): j for j, i in enumerate(graphs.ids)}))  # chunk position -> graph
    timing["featurize_s"] = time.perf_counter() - start
    start = time.perf_counter()
    kept = [k for k in range(n) if status[k] == "ok"]
    batches = [_batches(graphs, [where[k] for k in kept], batch_size, serialize) for graphs, where in outputs]
    timing["collate_s"] = time.perf_counter() - start
    return ChunkResult(status, reason, kept, batches, timing)


def _tolerant(stage, items: dict[int, object], status: list[str], reason: list[str],
              record_seconds: float | None = None) -> list[tuple[list[str], object]]:
    """``stage(records, ids) -> (output, rejects)`` on ``items`` (chunk position -> record), as ``(ids, output)`` pairs.

    Rejects set their record's status. An error the stage raises instead (a numerical corner case
    in third-party code, a record beyond the memory or time budget) is pinned on its record by
    running the stage again one record at a time.
    """
    ids = [str(k) for k in items]
    try:
        with record_time_limit(None if record_seconds is None else record_seconds * max(len(ids), 1)):
            results = [(ids, *stage(list(items.values()), ids))]
    except RECORD_ERRORS:
        results = []
        for record_id, item in zip(ids, items.values()):
            try:
                with record_time_limit(record_seconds):
                    results.append(([record_id], *stage([item], [record_id])))
            except RECORD_ERRORS as error:
                status[int(record_id)], reason[int(record_id)] = status_of(error), reason_of(error)
    for _, _, rejects in results:
        for error in rejects:
            status[int(error.input_id)], reason[int(error.input_id)] = status_of(error), reason_of(error)
    return [(batch_ids, output) for batch_ids, output, _ in results]


def _batches(graphs: Collated, indices: list[int], batch_size: int, serialize: bool) -> bytes | list:
    batches = [graphs.batch(indices[start:start + batch_size], drop=DROPPED_KEYS)
               for start in range(0, len(indices), batch_size)]
    if not serialize:
        return batches
    buffer = io.BytesIO()
    torch.save(batches, buffer)
    return buffer.getvalue()


def load_batches(payload: bytes) -> list:
    """The batches a worker serialized (trusted: written by this screen's own workers)."""
    return torch.load(io.BytesIO(payload), weights_only=False)


