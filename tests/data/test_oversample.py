import numpy as np
import pytest
import torch

from molgnn.data import load_dataset
from molgnn.data.oversample import oversample_dataset
from molgnn.featurize.molecule import MoleculeFeaturizer
from molgnn.imbalance import MLSMOTE, ImbalanceReport, make_oversampler


@pytest.fixture(scope="module")
def sider(data_dir, tmp_path_factory):
    return load_dataset("sider", data_dir=data_dir, featurizer=MoleculeFeaturizer(fingerprint_bits=1024),
                        cache_dir=tmp_path_factory.mktemp("cache"), workers=1, progress=False)


@pytest.fixture(scope="module")
def train_part(sider):
    return sider[torch.arange(0, len(sider), 2)]  # every other molecule: a view, like a training split


@pytest.mark.parametrize("name", ["ml-ros", "cooccurrence"])
def test_clones_are_views_of_training_graphs(train_part, name):
    result = oversample_dataset(train_part, make_oversampler(name, budget=0.2, seed=1))
    n = len(train_part)
    assert 0 < result.added <= int(0.2 * n) and len(result.dataset) == n + result.added
    assert (result.origin[:n] == "original").all() and (result.origin[n:] == "clone").all()
    ids = result.dataset.ids
    assert ids[:n] == train_part.ids and all(ids[n + k] == train_part.ids[p] for k, p in enumerate(result.parent[n:]))
    assert set(ids) <= set(train_part.ids)  # nothing from outside the training part
    labels = result.dataset.labels.numpy()
    np.testing.assert_array_equal(labels, train_part.labels.numpy()[result.parent])
    assert result.after.mean_ir < result.before.mean_ir
    assert result.after.to_dict() == ImbalanceReport.from_labels(labels, train_part.targets).to_dict()


def test_mlsmote_graphs_keep_the_seed_molecule_and_interpolate_the_fingerprint(train_part):
    oversampler = MLSMOTE(budget=0.1, seed=0, k=3)
    result = oversample_dataset(train_part, oversampler)
    n = len(train_part)
    assert (result.origin[n:] == "synthetic").all() and result.added == int(0.1 * n)
    first = result.dataset[n]  # expanded, as the trainer sees it
    seed, partner, weight = result.parent[n], result.partner[n], result.weight[n]
    seed_graph, partner_graph = train_part[int(seed)], train_part[int(partner)]
    assert result.dataset.smiles[n] == train_part.smiles[seed]
    assert torch.equal(first.x, seed_graph.x) and torch.equal(first.edge_index, seed_graph.edge_index)
    expected = (1 - weight) * seed_graph.fp.float() + weight * partner_graph.fp.float()
    torch.testing.assert_close(first.fp, expected.float())
    assert first.fp.dtype == torch.float32 and result.dataset[0].fp.dtype == torch.float32
    observed = ~torch.isnan(first.y)
    assert torch.equal(first.y_mask, observed) and set(first.y[observed].tolist()) <= {0.0, 1.0}
    assert result.dataset.ids[n].startswith(f"synthetic:{train_part.ids[seed]}+{train_part.ids[partner]}@")


def test_regression_and_missing_fingerprints_are_refused(data_dir, train_part, tmp_path):
    esol = load_dataset("delaney", data_dir=data_dir, cache_dir=tmp_path, workers=1, progress=False)
    with pytest.raises(ValueError, match="class labels"):
        oversample_dataset(esol, make_oversampler("ml-ros"))
    no_fp = load_dataset("sider", data_dir=data_dir, cache_dir=tmp_path, workers=1, progress=False)
    with pytest.raises(ValueError, match="fingerprint_bits"):
        oversample_dataset(no_fp, MLSMOTE())
