"""The candidate pool of a campaign: every candidate featurized once (the dataset cache keeps it), with its source.

The pool is what ``molgnn.data.load_dataset`` reads (a registered data set, a CGCNN folder, a CSV of
SMILES), featurized with the config's featurizer fields. A campaign never reads the labels the
source may carry: the surrogate learns only from the oracle's results (``labelled_dataset``).
Candidates the featurizer refuses are not in the pool; ``Pool.rejects`` lists them with their reasons.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from molgnn.data.dataset import GraphDataset
from molgnn.errors import ConfigError
from molgnn.featurize.base import CRYSTALS
from molgnn.featurize.collated import Collated

TARGET = "value"


@dataclass(frozen=True)
class PoolSpec:
    """How to read the pool (hashable, so that a worker process reads it once)."""

    data: str
    options: tuple = ()
    featurizer: tuple = ()
    data_dir: str | None = None
    cache_dir: str | None = None

    @classmethod
    def of(cls, config, data_dir: str | None = None, cache_dir: str | None = None) -> PoolSpec:
        def frozen(mapping: dict) -> tuple:
            return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in mapping.items()))

        return cls(config.pool, frozen(config.pool_options), frozen(config.featurizer), data_dir, cache_dir)


@dataclass
class Pool:
    """``dataset``: the featurized candidates; ``sources``: id -> what the oracle reads (CIF path or SMILES)."""

    dataset: GraphDataset
    sources: dict[str, str]
    rejects: list[tuple[str, str]]

    @property
    def ids(self) -> list[str]:
        return self.dataset.ids

    def features(self) -> np.ndarray:
        """The global descriptors of every candidate, ``[n, K]``; a value RDKit or the pore code could not compute is
        the column's median. ``ConfigError`` when the featurizer attaches none."""
        values = self.dataset.descriptors
        if values is None:
            raise ConfigError("this needs global descriptors of the pool: set featurizer = { descriptors = ... } "
                              "(crystals: pores, energies; molecules: rdkit2d)")
        values = values.numpy().astype(float)
        medians = np.nanmedian(np.where(np.isfinite(values), values, np.nan), axis=0)
        return np.where(np.isfinite(values), values, np.nan_to_num(medians)[None, :])

    def standardized(self) -> np.ndarray:
        """``features`` scaled to zero mean and unit variance per column (the space of the diversity rule)."""
        values = self.features()
        spread = values.std(axis=0)
        return (values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


@lru_cache(maxsize=2)
def load_pool(spec: PoolSpec, progress: bool = False) -> Pool:
    """The pool ``spec`` describes (built into the dataset cache the first time, read from it after)."""
    from molgnn.data.build import load_dataset, resolve_spec

    options = {k: list(v) if isinstance(v, tuple) else v for k, v in spec.options}
    dataset_spec = resolve_spec(spec.data, spec.data_dir, options)
    base = dataset_spec.default_featurizer()
    fields = {k: v for k, v in spec.featurizer}
    if "descriptors" in fields and base.kind != CRYSTALS:  # molecules take one descriptor set by name
        fields["descriptors"] = ",".join(fields["descriptors"]) if isinstance(fields["descriptors"], tuple) \
            else fields["descriptors"]
    try:
        featurizer = dataclasses.replace(base, **fields)
    except TypeError as error:
        raise ConfigError(f"featurizer of the pool {spec.data}: {error}") from None
    dataset = load_dataset(spec.data, spec.data_dir, featurizer, options, spec.cache_dir, progress=progress)
    records = dataset_spec.read()
    sources = dict(zip(records.ids, map(str, records.inputs)))
    return Pool(dataset, {i: sources[i] for i in dataset.ids}, dataset.rejects)


def labelled_dataset(pool: Pool, positions: list[int], values: list[float]) -> GraphDataset:
    """The pool's graphs at ``positions`` with the oracle's ``values`` as their one regression target."""
    full = pool.dataset
    if len(full.indices()) != len(full._data.id):
        raise ConfigError("the pool must be a whole data set, not a view of one")
    data = copy.copy(full._data)
    y = torch.full((len(full), 1), float("nan"))
    y[torch.as_tensor(positions, dtype=torch.long), 0] = torch.as_tensor(values, dtype=torch.float32)
    data.y, data.y_mask = y, ~torch.isnan(y)
    slices = dict(full.slices)
    slices["y"] = slices["y_mask"] = torch.arange(len(full) + 1)
    meta = {"name": f"campaign-{full.meta['name']}", "task": "regression", "targets": [TARGET], "units": {TARGET: ""},
            "featurizer": full.meta["featurizer"], "rejects": [], "excluded": [], "source": {"loader": "campaign"}}
    return GraphDataset(Collated(data, slices), meta, full.featurizer)[torch.as_tensor(positions, dtype=torch.long)]
