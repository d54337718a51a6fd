"""Datasets: the registry of dataset cards, loaders of raw files, and cached, parallel builds.

Typical use::

    from molgnn.data import load_dataset
    dataset = load_dataset("tox21", data_dir="../shared/data")
    dataset[0]            # a torch_geometric Data with y and y_mask
    dataset.rejects       # [(id, reason), ...] for every record that could not be featurized
"""

from molgnn.data.build import load_dataset
from molgnn.data.cards import DatasetCard, get_card, list_cards
from molgnn.data.dataset import GraphDataset

__all__ = ["DatasetCard", "GraphDataset", "get_card", "list_cards", "load_dataset"]
