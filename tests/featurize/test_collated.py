import torch

from molgnn.featurize.collated import Collated
from molgnn.featurize.molecule import MoleculeFeaturizer


def test_concat_and_get_round_trip():
    featurizer = MoleculeFeaturizer(fingerprint_bits=64)
    smiles = ["CCO", "c1ccccc1", "[Na+]", "CC(=O)N"]
    whole, _ = featurizer.featurize_many(smiles, smiles)
    parts = [featurizer.featurize_many(smiles[:1], smiles[:1])[0], Collated.empty(),
             featurizer.featurize_many(smiles[1:], smiles[1:])[0]]
    joined = Collated.concat(parts)
    assert joined.ids == smiles
    for i in range(len(smiles)):
        a, b = joined.get(i), whole.get(i)
        assert a.id == b.id == smiles[i]
        for key in ("x", "edge_index", "edge_attr", "fp"):
            assert torch.equal(a[key], b[key])


def test_one_crystal_graph_is_a_collection_of_one(crafted):
    from molgnn.featurize.crystal import CrystalFeaturizer

    one, _ = CrystalFeaturizer(charges="none").featurize_many([crafted / "FUDQIF.cif"], ["FUDQIF"])
    assert len(one) == 1 and one.ids == ["FUDQIF"] and one.get(0).num_nodes == 28
    joined = Collated.concat([one, one])
    assert joined.ids == ["FUDQIF", "FUDQIF"] and joined.get(1).num_nodes == 28


def _assert_same_batch(ours, reference):
    assert sorted(ours.keys()) == sorted(reference.keys()) and ours.num_graphs == reference.num_graphs
    for key in reference.keys():
        assert torch.equal(ours[key], reference[key]) if torch.is_tensor(reference[key]) else ours[key] == reference[key], key


def test_a_batch_gathered_from_the_collated_tensors_equals_torch_geometric_collation(crafted):
    from torch_geometric.data import Batch

    from molgnn.featurize.crystal import CrystalFeaturizer

    smiles = ["CCO", "c1ccccc1", "[Na+]", "CC(=O)N", "O=C=O", "C#N"]
    molecules, _ = MoleculeFeaturizer(fingerprint_bits=64).featurize_many(smiles, smiles)
    names = ["FUDQIF", "ACOLIP", "ATOWIQ"]
    crystals, _ = CrystalFeaturizer().featurize_many([crafted / f"{name}.cif" for name in names], names)
    for graphs, indices in ((molecules, [4, 0, 2, 5]), (molecules, [3]), (crystals, [2, 0, 1])):
        reference = Batch.from_data_list([graphs.get(i) for i in indices])
        _assert_same_batch(graphs.batch(indices), reference)  # edge_index offset by the nodes before, batch, ptr
        dropped = graphs.batch(indices, drop=("id", "smiles"))
        assert "id" not in dropped and "smiles" not in dropped and torch.equal(dropped.edge_index, reference.edge_index)
