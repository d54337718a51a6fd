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
