"""Datasets: the registry of dataset cards, loaders of raw files, and cached, parallel builds.

Typical use::

    from molgnn.data import load_dataset
    dataset = load_dataset("tox21", data_dir="../shared/data")
    dataset[0]            # a torch_geometric Data with y and y_mask
    dataset.rejects       # [(id, reason), ...] for every record that could not be featurized
"""

import importlib

# name -> the module that defines it, imported when first asked for: reading dataset cards needs no torch
_EXPORTS = {"load_dataset": "molgnn.data.build", "DatasetCard": "molgnn.data.cards", "get_card": "molgnn.data.cards",
            "list_cards": "molgnn.data.cards", "GraphDataset": "molgnn.data.dataset"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'molgnn.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
