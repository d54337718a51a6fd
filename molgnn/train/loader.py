"""Batches of expanded graphs.

Datasets hold compact graphs and expand them on access (element vectors, Gaussian distance
expansion, float features). Expanding a whole collated batch at once costs one vectorized call
instead of one per graph, and collating compact graphs moves far less memory, so training and
inference expand per batch.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch
from torch_geometric.loader import DataLoader


def expanded_batches(dataset, batch_size: int, shuffle: bool = False,
                     generator: torch.Generator | None = None) -> Iterator:
    """Iterate ``dataset`` (a ``GraphDataset`` or view, or a list of compact graphs plus ``expand``) in batches."""
    expand = getattr(dataset, "transform", None)
    if expand is not None:
        dataset = copy.copy(dataset)
        dataset.transform = None
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator):
        yield expand(batch) if expand is not None else batch
