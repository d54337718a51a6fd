"""Featurization of one chunk of records, run in a worker process.

A chunk goes through every distinct featurizer of the ensemble; a record is kept only when all of
them accept it, otherwise it gets the status of the first rejection. The kept graphs leave the
worker as ready (compact) batches, serialized with ``torch.save`` into bytes: collation happens in
the workers, in parallel, and the main process only expands the batches and runs the models.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch_geometric.data import Batch

from molgnn.chem import errors
from molgnn.chem.crystal import parse_cif_text, read_cif

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
}
# Errors that a featurizer may raise on one odd record besides its typed ones (numerical corner
# cases in third-party code); they make that record's status, never stop the screen.
RECORD_ERRORS = (ValueError, RuntimeError, IndexError, KeyError, ArithmeticError)
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
    return f"{type(error).__name__}: {error}"


@dataclass
class ChunkResult:
    """What a worker sends back: per record a status and reason; per featurizer the batches of kept records."""

    status: list[str]
    reason: list[str]
    kept: list[int]  # chunk positions of the records every featurizer accepted, in order
    batches: list[bytes]  # one torch.save'd list of compact batches per featurizer
    timing: dict[str, float] = field(default_factory=dict)


def featurize_chunk(featurizers: list, kind: str, payloads: list, batch_size: int) -> ChunkResult:
    """Featurize ``payloads`` (SMILES, CIF paths or CIF texts) with each featurizer."""
    n = len(payloads)
    status, reason = ["ok"] * n, [""] * n
    timing = {"parse_s": 0.0, "featurize_s": 0.0, "collate_s": 0.0}
    if kind == "crystals":
        start = time.perf_counter()
        inputs = [_parse_crystal(payload, k, status, reason) for k, payload in enumerate(payloads)]
        timing["parse_s"] = time.perf_counter() - start
    else:
        inputs = list(payloads)
    start = time.perf_counter()
    collated = [_featurize(featurizer, kind, inputs, status, reason) for featurizer in featurizers]
    timing["featurize_s"] = time.perf_counter() - start
    start = time.perf_counter()
    kept = [k for k in range(n) if status[k] == "ok"]
    batches = [_batches(graphs, kept, batch_size) for graphs in collated]
    timing["collate_s"] = time.perf_counter() - start
    return ChunkResult(status, reason, kept, batches, timing)


def _parse_crystal(payload, position: int, status: list[str], reason: list[str]):
    try:
        if isinstance(payload, Path):
            return read_cif(payload, str(position))
        return parse_cif_text(payload, str(position))
    except (errors.InvalidInputError, *RECORD_ERRORS) as error:
        status[position], reason[position] = status_of(error), reason_of(error)
        return None


def _featurize(featurizer, kind: str, inputs: list, status: list[str], reason: list[str]) -> dict:
    """Graphs of the records still ``ok``, by chunk position; rejections update ``status``."""
    todo = [k for k in range(len(inputs)) if status[k] == "ok"]
    if kind == "crystals":
        graphs = {}
        for k in todo:
            try:
                graph = featurizer.graph(inputs[k], str(k))
            except (errors.InvalidInputError, *RECORD_ERRORS) as error:
                status[k], reason[k] = status_of(error), reason_of(error)
                continue
            graphs[k] = graph
        return graphs
    try:
        collated, rejects = featurizer.featurize_many([inputs[k] for k in todo], [str(k) for k in todo])
    except RECORD_ERRORS:  # an unexpected failure inside the batch: find the record one by one
        return _featurize_one_by_one(featurizer, inputs, todo, status, reason)
    for error in rejects:
        k = int(error.input_id)
        status[k], reason[k] = status_of(error), reason_of(error)
    return {int(i): collated.get(j) for j, i in enumerate(collated.ids)}


def _featurize_one_by_one(featurizer, inputs: list, todo: list[int], status: list[str], reason: list[str]) -> dict:
    graphs = {}
    for k in todo:
        try:
            collated, rejects = featurizer.featurize_many([inputs[k]], [str(k)])
        except RECORD_ERRORS as error:
            status[k], reason[k] = status_of(error), reason_of(error)
            continue
        if rejects:
            status[k], reason[k] = status_of(rejects[0]), reason_of(rejects[0])
        else:
            graphs[k] = collated.get(0)
    return graphs


def _batches(graphs: dict, kept: list[int], batch_size: int) -> bytes:
    compact = []
    for k in kept:
        graph = graphs[k]
        for key in DROPPED_KEYS:
            if key in graph:
                del graph[key]
        compact.append(graph)
    batches = [Batch.from_data_list(compact[start:start + batch_size]) for start in range(0, len(compact), batch_size)]
    buffer = io.BytesIO()
    torch.save(batches, buffer)
    return buffer.getvalue()


def load_batches(payload: bytes) -> list:
    """The batches a worker serialized (trusted: written by this screen's own workers)."""
    return torch.load(io.BytesIO(payload), weights_only=False)


def init_worker() -> None:
    """Worker start-up: one torch thread each; the cores are shared with the other workers and the model."""
    torch.set_num_threads(1)
