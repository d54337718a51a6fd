"""Oversampling a training set of graphs: clones, and MLSMOTE's synthetic graphs.

The oversamplers (``molgnn.imbalance``) only say what to add: positions of training samples to
clone, or recipes of synthetic samples. This module turns that into a training set:

- a clone is the same stored graph once more (a view, nothing is copied);
- a synthetic MLSMOTE sample is the graph of its seed molecule with the fingerprint interpolated
  between the seed and its neighbour (``fp``, float32) and the voted label set. Its ``id`` is
  ``synthetic:<seed id>+<neighbour id>@<weight>`` and its ``smiles`` the seed's, so it is always a
  valid molecule. A model that does not read fingerprints sees it as a clone with the voted labels.

Only the training split is ever passed in; validation and test graphs are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from molgnn.data.dataset import GraphDataset
from molgnn.errors import ConfigError
from molgnn.featurize.collated import Collated
from molgnn.imbalance import ImbalanceReport, Oversampler, SyntheticSamples
from molgnn.tasks import is_classification


@dataclass
class OversampledSet:
    """A training set with its added samples, and where each sample came from.

    ``origin[i]`` is ``"original"``, ``"clone"`` or ``"synthetic"``; ``parent[i]`` the position in the
    given training set of the graph sample ``i`` is (or was built from); ``partner[i]`` and
    ``weight[i]`` the neighbour and interpolation weight of a synthetic sample (-1 and 0 otherwise).
    """

    dataset: GraphDataset
    origin: np.ndarray
    parent: np.ndarray
    partner: np.ndarray
    weight: np.ndarray
    before: ImbalanceReport
    after: ImbalanceReport
    oversampler: str

    @property
    def added(self) -> int:
        return int((self.origin != "original").sum())

    def summary(self) -> dict:
        """Counts and the imbalance measures before and after, JSON-ready."""
        return {"oversampler": self.oversampler, "original": int((self.origin == "original").sum()),
                "clones": int((self.origin == "clone").sum()), "synthetic": int((self.origin == "synthetic").sum()),
                "distinct_parents_added": int(len(np.unique(self.parent[self.origin != "original"]))),
                "before": self.before.to_dict(), "after": self.after.to_dict()}


def fingerprints(dataset: GraphDataset) -> np.ndarray:
    """The stored fingerprints of ``dataset``'s graphs, ``[n, bits]``; a clear error without them."""
    if "fp" not in dataset._data:
        raise ConfigError(f"dataset {dataset.meta['name']!r} has no fingerprints: featurize it with fingerprint_bits > 0 "
                         f"(the oversampler finds neighbours by Tanimoto similarity of fingerprints)")
    return dataset._data.fp[torch.as_tensor(list(dataset.indices()), dtype=torch.long)].numpy()


def oversample_dataset(train_set: GraphDataset, oversampler: Oversampler) -> OversampledSet:
    """``train_set`` followed by the samples ``oversampler`` adds to it (see the module docstring)."""
    if not is_classification(train_set.task):
        raise ConfigError(f"oversampling needs class labels, but dataset {train_set.meta['name']!r} is a "
                         f"{train_set.task} task")
    Y = train_set.labels.numpy().astype(float)
    features = fingerprints(train_set) if "fingerprint" in oversampler.requires else None
    added = oversampler.resample(Y, features)
    n = len(train_set)
    before = ImbalanceReport.from_labels(Y, train_set.targets)
    if isinstance(added, SyntheticSamples):
        dataset = _with_synthetic(train_set, added, features)
        origin = np.array(["original"] * n + ["synthetic"] * len(added))
        parent = np.concatenate([np.arange(n), added.seed])
        partner = np.concatenate([np.full(n, -1), added.neighbour])
        weight = np.concatenate([np.zeros(n), added.weight])
        Y_after = np.concatenate([Y, added.labels])
    else:
        added = np.asarray(added, dtype=np.int64)
        dataset = train_set[torch.as_tensor(np.concatenate([np.arange(n), added]), dtype=torch.long)]
        origin = np.array(["original"] * n + ["clone"] * len(added))
        parent = np.concatenate([np.arange(n), added])
        partner, weight = np.full(len(parent), -1), np.zeros(len(parent))
        Y_after = Y[parent]
    after = ImbalanceReport.from_labels(Y_after, train_set.targets)
    return OversampledSet(dataset, origin, parent, partner, weight, before, after, type(oversampler).__name__)


def _with_synthetic(train_set: GraphDataset, synthetic: SyntheticSamples, features: np.ndarray) -> GraphDataset:
    """A new dataset: the training graphs, then one graph per synthetic sample; ``fp`` becomes float32 for all."""
    stored = Collated(train_set._data, train_set.slices)
    positions = list(train_set.indices())
    graphs = [stored.get(p) for p in positions]
    interpolated = torch.from_numpy(synthetic.interpolated_features(features))
    ids = train_set.ids
    for r in range(len(synthetic)):
        seed, partner = int(synthetic.seed[r]), int(synthetic.neighbour[r])
        graph = stored.get(positions[seed])
        graph.fp = interpolated[r : r + 1]
        graph.y = torch.as_tensor(synthetic.labels[r : r + 1], dtype=graph.y.dtype)
        graph.y_mask = ~torch.isnan(graph.y)
        graph.id = f"synthetic:{ids[seed]}+{ids[partner]}@{synthetic.weight[r]:.3f}"
        graphs.append(graph)
    for graph in graphs[: len(positions)]:
        graph.fp = graph.fp.float()
    meta = {**train_set.meta, "name": f"{train_set.meta['name']}+mlsmote"}
    return GraphDataset(Collated.from_graphs(graphs), meta, train_set.featurizer)
