"""``GraphDataset``: a featurized dataset in memory, with its labels, units and rejects."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import InMemoryDataset

from molgnn.featurize.base import Featurizer
from molgnn.featurize.collated import Collated
from molgnn.tasks import is_classification


class GraphDataset(InMemoryDataset):
    """Graphs of one dataset with ``y`` ([1, T], NaN where missing) and ``y_mask`` ([1, T] bool).

    Built and cached by ``molgnn.data.load_dataset``; ``meta`` holds the dataset's description:
    ``name``, ``task``, ``targets``, ``units``, ``featurizer`` (its config), ``rejects`` and
    ``excluded`` (lists of ``[id, reason]``), ``cache_dir``. The graphs are stored compact and
    ``featurizer.expand`` (the dataset's transform) expands them on access.
    """

    def __init__(self, graphs: Collated, meta: dict, featurizer: Featurizer):
        super().__init__(None, transform=featurizer.expand)
        self.data, self.slices = graphs.data, graphs.slices
        self.meta = meta
        self.featurizer = featurizer

    def _positions(self) -> list[int]:
        """Positions in the stored graphs of this dataset's items (a view ``dataset[idx]`` holds a subset)."""
        return list(self.indices())

    @property
    def ids(self) -> list[str]:
        return [self._data.id[i] for i in self._positions()]

    @property
    def smiles(self) -> list[str] | None:
        """The SMILES of each graph (molecule datasets), else None."""
        return [self._data.smiles[i] for i in self._positions()] if "smiles" in self._data else None

    @property
    def kind(self) -> str:
        """``"molecules"`` or ``"crystals"``: the kind of the dataset's featurizer."""
        return self.featurizer.kind

    @property
    def targets(self) -> list[str]:
        return list(self.meta["targets"])

    @property
    def units(self) -> dict[str, str]:
        return dict(self.meta["units"])

    @property
    def task(self) -> str:
        return self.meta["task"]

    @property
    def rejects(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self.meta["rejects"]]

    @property
    def excluded(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self.meta["excluded"]]

    @property
    def labels(self) -> torch.Tensor:
        """All targets as ``[len(self), T]`` float, NaN where missing."""
        return self._data.y[torch.as_tensor(self._positions(), dtype=torch.long)]

    @property
    def descriptors(self) -> torch.Tensor | None:
        """The global descriptors of every graph as ``[len(self), K]`` (``featurizer.descriptor_names``), or None."""
        if "descriptors" not in self._data:
            return None
        return self._data.descriptors[torch.as_tensor(self._positions(), dtype=torch.long)]

    @property
    def fingerprints(self) -> torch.Tensor | None:
        """The Morgan fingerprints of every graph as ``[len(self), bits]`` uint8, or None."""
        if "fp" not in self._data:
            return None
        return self._data.fp[torch.as_tensor(self._positions(), dtype=torch.long)]

    def atomic_numbers(self) -> list[np.ndarray]:
        """The atomic numbers of each graph's atoms (heavy atoms for molecules), one array per graph."""
        z, bounds = self._data.z.numpy(), self.slices["z"].numpy()
        return [z[bounds[p]:bounds[p + 1]] for p in self._positions()]

    def summary(self) -> dict:
        """Counts and label statistics, JSON-ready."""
        y = self.labels
        observed = ~torch.isnan(y)
        summary = {
            "name": self.meta["name"],
            "task": self.task,
            "graphs": len(self),
            "rejected": len(self.rejects),
            "excluded": len(self.excluded),
            "targets": len(self.targets),
            "missing_label_fraction": round(float(1 - observed.float().mean()), 4) if y.numel() else 0.0,
            "mean_atoms": round(float(self.slices["z"][-1]) / max(len(self), 1), 2),
            "mean_edges": round(float(self.slices["edge_index"][-1]) / max(len(self), 1), 2),
            "cache_dir": self.meta.get("cache_dir"),
        }
        if self.descriptors is not None:  # NaN marks a descriptor that could not be computed (the model imputes it)
            summary["graphs_with_missing_descriptors"] = int(torch.isnan(self.descriptors).any(dim=1).sum())
        if is_classification(self.task) and y.numel():
            summary["positive_fraction"] = round(float(y[observed].mean()), 4)
        return summary

    def __repr__(self) -> str:
        return f"GraphDataset({self.meta['name']}, {len(self)} graphs, {len(self.targets)} targets)"
