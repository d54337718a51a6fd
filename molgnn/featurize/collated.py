"""Many graphs stored as one: concatenated tensors plus slice boundaries.

This is the storage layout of ``torch_geometric.data.InMemoryDataset`` (``data``, ``slices``),
so a ``Collated`` drops straight into one; featurizers that work on whole batches build it
directly instead of creating one ``Data`` object per graph.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch_geometric.data import Batch, Data
from torch_geometric.data.collate import collate

from molgnn.errors import DataError


@dataclass
class Collated:
    """``data`` holds every graph's tensors concatenated; ``slices[key]`` the boundaries."""

    data: Data
    slices: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(self.data.id)

    @property
    def ids(self) -> list[str]:
        return list(self.data.id)

    @classmethod
    def from_graphs(cls, graphs: list[Data]) -> Collated:
        if not graphs:
            return cls.empty()
        # torch_geometric's collate directly: InMemoryDataset.collate returns a single graph as is,
        # without slices and with its id as a plain string
        data, slices, _ = collate(graphs[0].__class__, data_list=graphs, increment=False, add_batch=False)
        return cls(data, slices)

    @classmethod
    def empty(cls) -> Collated:
        return cls(Data(id=[]), {"id": torch.zeros(1, dtype=torch.long)})

    def get(self, index: int) -> Data:
        """Graph ``index`` as a ``Data`` object (same result as ``InMemoryDataset.get``)."""
        out = Data()
        for key, bounds in self.slices.items():
            start, end = int(bounds[index]), int(bounds[index + 1])
            value = self.data[key]
            if isinstance(value, list):
                out[key] = value[start]
            else:
                dim = self.data.__cat_dim__(key, value)
                out[key] = value.narrow(dim, start, end - start)
        return out

    def batch(self, indices: list[int], drop: tuple[str, ...] = ()) -> Batch:
        """Graphs ``indices`` as one ``Batch``, gathered straight from the concatenated tensors (the same tensors as
        ``Batch.from_data_list([self.get(i) for i in indices])``, without a ``Data`` object per graph); the keys
        in ``drop`` are left out."""
        index = torch.as_tensor(indices, dtype=torch.long)
        node_bounds = self._node_bounds()
        nodes = node_bounds[index + 1] - node_bounds[index]
        out = Batch()
        for key, bounds in self.slices.items():
            if key in drop:
                continue
            value = self.data[key]
            if isinstance(value, list):
                out[key] = [value[i] for i in indices]
                continue
            starts, counts = bounds[index], bounds[index + 1] - bounds[index]
            rows = torch.repeat_interleave(starts - _exclusive_cumsum(counts), counts) + torch.arange(int(counts.sum()))
            dim = self.data.__cat_dim__(key, value)
            gathered = value.index_select(dim, rows)
            if self.data.__inc__(key, value):  # indices of nodes: offset by the nodes of the graphs before
                gathered = gathered + torch.repeat_interleave(_exclusive_cumsum(nodes), counts).view(
                    *[-1 if d == dim % gathered.dim() else 1 for d in range(gathered.dim())])
            out[key] = gathered
        out.batch = torch.repeat_interleave(torch.arange(len(indices)), nodes)
        out.ptr = torch.cat([torch.zeros(1, dtype=torch.long), torch.cumsum(nodes, 0)])
        out._num_graphs = len(indices)
        return out

    def _node_bounds(self) -> torch.Tensor:
        for key in ("x", "z", "pos"):
            if key in self.slices:
                return self.slices[key]
        raise DataError(f"no node feature among the collated keys {sorted(self.slices)} to count nodes by")

    def only(self) -> Data:
        """The one graph of a ``Collated`` of length 1, without slicing (fast path of single calls)."""
        if len(self) != 1:
            raise DataError(f"only() needs exactly one graph, this holds {len(self)}")
        out = copy.copy(self.data)
        for key, value in self.data.items():
            if isinstance(value, list):
                out[key] = value[0]
        return out

    @classmethod
    def concat(cls, parts: list[Collated]) -> Collated:
        """One ``Collated`` holding the graphs of ``parts`` in order."""
        parts = [part for part in parts if len(part)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        data, slices = Data(), {}
        for key in first.slices:
            values = [part.data[key] for part in parts]
            if isinstance(values[0], list):
                data[key] = [item for value in values for item in value]
            else:
                data[key] = torch.cat(values, dim=first.data.__cat_dim__(key, values[0]))
            bounds = [part.slices[key] for part in parts]
            shifts = torch.cumsum(torch.tensor([0] + [int(b[-1]) for b in bounds[:-1]]), 0)
            slices[key] = torch.cat([bounds[0]] + [b[1:] + s for b, s in zip(bounds[1:], shifts[1:])])
        return cls(data, slices)


def _exclusive_cumsum(counts: torch.Tensor) -> torch.Tensor:
    return torch.cumsum(counts, 0) - counts
