"""The applicability domain of a run: what its training records span, and which new inputs fall outside.

A run folder may hold ``domain.json``, written from the records the run was trained on: the
elements seen, the range of atom counts (heavy atoms for molecules), and the range of each global
descriptor the featurizer attaches. A prediction for an input outside it is an extrapolation and
is flagged, not refused: ``molgnn predict`` / ``molgnn screen``'s ``domain`` column says ``inside``,
or why the input is outside (empty for a record that was rejected):

- an element that no training record has;
- an atom count or a descriptor value beyond the training range by more than ``MARGIN`` of that
  range's width (a value just past the largest training value is not "far" outside).

An ensemble's domain is the union of its members' (out-of-fold members together saw every record).
``domain.json`` does not decide the predictions, so it is not among a run's checksummed files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from molgnn.atomic import atomic_write_text
from molgnn.chem import elements
from molgnn.errors import DataError

DOMAIN = "domain.json"
MARGIN = 0.1  # of a range's width: how far past the training range a value is flagged
SHOWN_DESCRIPTORS = 3  # descriptors named per flagged record; the rest are counted
INSIDE = "inside"  # the flag of an input inside the domain


@dataclass(frozen=True)
class Domain:
    elements: frozenset[int]
    atoms: tuple[int, int]
    descriptor_names: tuple[str, ...] = ()
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    @classmethod
    def of_dataset(cls, dataset, positions=None) -> Domain:
        """The domain of ``dataset``'s records at ``positions`` (default: all)."""
        if positions is not None:
            dataset = dataset[torch.as_tensor(np.asarray(positions), dtype=torch.long)]
        numbers = dataset.atomic_numbers()
        if not numbers:
            raise DataError("the domain of no records is undefined")
        counts = [len(z) for z in numbers]
        descriptors = dataset.descriptors
        names, low, high = (), (), ()
        if descriptors is not None:
            values = descriptors.double().numpy()
            names = tuple(dataset.featurizer.descriptor_names) or tuple(f"descriptor {k}" for k in range(values.shape[1]))
            low, high = tuple(map(float, values.min(axis=0))), tuple(map(float, values.max(axis=0)))
        return cls(frozenset(int(z) for z in np.unique(np.concatenate(numbers))), (min(counts), max(counts)),
                   names, low, high)

    def union(self, other: Domain) -> Domain:
        if self.descriptor_names != other.descriptor_names:  # different featurizers: keep the common part
            return Domain(self.elements | other.elements, _span(self.atoms, other.atoms))
        return Domain(self.elements | other.elements, _span(self.atoms, other.atoms), self.descriptor_names,
                      tuple(np.minimum(self.low, other.low)), tuple(np.maximum(self.high, other.high)))

    def flags(self, batch) -> list[str]:
        """Per graph of ``batch`` (a torch_geometric Batch): ``INSIDE``, or why it is outside (reasons ``; ``-joined)."""
        reasons: list[list[str]] = [[] for _ in range(batch.num_graphs)]
        graph_of_atom = batch.batch.numpy()
        z = batch.z.numpy()
        unseen = ~np.isin(z, np.fromiter(self.elements, dtype=z.dtype))
        for g in np.unique(graph_of_atom[unseen]):
            symbols = sorted({elements.symbol(int(n)) for n in np.unique(z[unseen & (graph_of_atom == g)])})
            reasons[g].append(f"elements not in training: {','.join(symbols)}")
        counts = np.bincount(graph_of_atom, minlength=batch.num_graphs)
        for g in _outside(counts, *self.atoms):
            reasons[g].append(f"{counts[g]} atoms (training {self.atoms[0]}-{self.atoms[1]})")
        if self.descriptor_names and "descriptors" in batch:
            values = batch.descriptors.double().cpu().numpy()
            outside: list[list[str]] = [[] for _ in range(batch.num_graphs)]
            for k, name in enumerate(self.descriptor_names):
                for g in _outside(values[:, k], self.low[k], self.high[k]):
                    outside[g].append(f"{name} {values[g, k]:.4g} (training {self.low[k]:.4g} to {self.high[k]:.4g})")
            for g, named in enumerate(outside):
                more = len(named) - SHOWN_DESCRIPTORS
                reasons[g] += named[:SHOWN_DESCRIPTORS] + ([f"{more} more descriptors outside"] if more > 0 else [])
        return ["; ".join(r) if r else INSIDE for r in reasons]

    def to_dict(self) -> dict:
        return {"elements": sorted(self.elements), "atoms": list(self.atoms),
                "descriptors": {"names": list(self.descriptor_names), "low": list(self.low), "high": list(self.high)}}

    @classmethod
    def from_dict(cls, values: dict) -> Domain:
        descriptors = values.get("descriptors", {})
        return cls(frozenset(values["elements"]), tuple(values["atoms"]), tuple(descriptors.get("names", ())),
                   tuple(descriptors.get("low", ())), tuple(descriptors.get("high", ())))


def write_domain(run_dir: str | Path, domain: Domain) -> None:
    atomic_write_text(Path(run_dir) / DOMAIN, json.dumps(domain.to_dict(), indent=1))


def read_domain(run_dir: str | Path) -> Domain | None:
    """The domain in ``run_dir``, or None for a run folder without one (written before molgnn recorded it)."""
    path = Path(run_dir) / DOMAIN
    return Domain.from_dict(json.loads(path.read_text())) if path.exists() else None


def _span(a: tuple, b: tuple) -> tuple:
    return min(a[0], b[0]), max(a[1], b[1])


def _outside(values: np.ndarray, low: float, high: float) -> np.ndarray:
    margin = MARGIN * (high - low)
    return np.flatnonzero((values < low - margin) | (values > high + margin))
