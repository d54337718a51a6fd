import pandas as pd
import pytest
import torch
from torch_geometric.data import InMemoryDataset

from molgnn.chem.errors import InvalidInputError, InvalidSmilesError
from molgnn.errors import ConfigError
from molgnn.featurize.molecule import MoleculeFeaturizer


def _feature(graph, featurizer, name):
    return graph.x[:, featurizer.atom_feature_names.index(name)]


def test_benzene():
    featurizer = MoleculeFeaturizer()
    graph = featurizer("c1ccccc1")
    assert graph.num_nodes == 6 and graph.edge_index.shape == (2, 12)
    assert graph.x.dtype == torch.float32 and graph.x.shape == (6, featurizer.num_atom_features)
    assert graph.edge_attr.shape == (12, featurizer.num_edge_features)
    assert _feature(graph, featurizer, "aromatic").tolist() == [1.0] * 6
    assert _feature(graph, featurizer, "element=C").tolist() == [1.0] * 6
    assert _feature(graph, featurizer, "hybridization=SP2").tolist() == [1.0] * 6
    assert _feature(graph, featurizer, "total_hs=1").tolist() == [1.0] * 6
    assert graph.edge_attr[:, featurizer.edge_feature_names.index("bond_type=aromatic")].tolist() == [1.0] * 12
    # edges come in pairs: 2k and 2k+1 are the two directions of bond k
    assert torch.equal(graph.edge_index[:, 0::2], graph.edge_index[:, 1::2].flip(0))


def test_every_atom_has_one_slot_per_categorical_block():
    featurizer = MoleculeFeaturizer()
    graph = featurizer("C[C@H](N)C(=O)[O-].[Na+]")
    categorical = {n.split("=")[0] for n in featurizer.atom_feature_names if "=" in n}
    assert torch.all(graph.x[:, [i for i, n in enumerate(featurizer.atom_feature_names) if "=" in n]].sum(1)
                     == len(categorical))
    assert _feature(graph, featurizer, "chirality=CCW")[1] + _feature(graph, featurizer, "chirality=CW")[1] == 1
    assert _feature(graph, featurizer, "formal_charge=-1").sum() == 1 and _feature(graph, featurizer, "formal_charge=+1").sum() == 1


def test_unknown_element_and_dummy_atom_use_the_other_slot():
    featurizer = MoleculeFeaturizer()
    graph = featurizer("*C(=O)[U]")
    other = _feature(graph, featurizer, "element=other")
    assert other.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert graph.z.tolist() == [0, 6, 8, 92]


def test_names_match_widths_and_are_unique():
    featurizer = MoleculeFeaturizer()
    for names, width in [(featurizer.atom_feature_names, featurizer.num_atom_features),
                         (featurizer.edge_feature_names, featurizer.num_edge_features)]:
        assert len(names) == width == len(set(names))


def test_optional_charges_and_fingerprint():
    featurizer = MoleculeFeaturizer(gasteiger=True, fingerprint_bits=1024)
    graph = featurizer("CC(=O)[O-]")
    assert graph.charge.shape == (4,) and graph.charge.sum().item() == pytest.approx(-1.0, abs=1e-4)
    assert graph.fp.shape == (1, 1024) and graph.fp.dtype == torch.uint8
    plain = MoleculeFeaturizer()("CC(=O)[O-]")
    assert "charge" not in plain and "fp" not in plain


def test_optional_descriptors_are_rdkits_named_and_in_the_config():
    featurizer = MoleculeFeaturizer(descriptors="rdkit2d")
    graph = featurizer("c1ccccc1O")
    assert graph.descriptors.shape == (1, len(featurizer.descriptor_names)) and graph.descriptors.dtype == torch.float32
    assert graph.descriptors[0, featurizer.descriptor_names.index("NumAromaticRings")] == 1
    assert featurizer.provides == {"descriptors"} and featurizer.graph_dims()["descriptor_dim"] == len(featurizer.descriptor_names)
    assert featurizer.config()["descriptors"] == "rdkit2d" != MoleculeFeaturizer().config()["descriptors"]
    assert "descriptors" not in MoleculeFeaturizer()("CCO") and MoleculeFeaturizer().descriptor_names == []
    with pytest.raises(ConfigError, match="descriptors must be one of"):
        MoleculeFeaturizer(descriptors="mordred")


def test_single_atom_molecule_has_no_edges():
    graph = MoleculeFeaturizer()("[Na+]")
    assert graph.edge_index.shape == (2, 0) and graph.edge_attr.shape[0] == 0 and graph.num_nodes == 1


def test_bad_smiles_names_the_input():
    with pytest.raises(InvalidSmilesError, match="^mol-3: "):
        MoleculeFeaturizer()("C1CC", input_id="mol-3")


def test_batch_equals_one_at_a_time(data_dir):
    smiles = pd.read_csv(data_dir / "molnet" / "sider.csv")["smiles"].tolist()[:200] + ["C1CC", "CCO"]
    featurizer = MoleculeFeaturizer(gasteiger=True, fingerprint_bits=256, descriptors="rdkit2d")
    graphs, rejects = featurizer.featurize_many(smiles, [f"m{i}" for i in range(len(smiles))])
    singles, expected_rejects = [], []
    for i, s in enumerate(smiles):
        try:
            singles.append(featurizer(s, f"m{i}"))
        except InvalidInputError as error:
            expected_rejects.append(error.input_id)
    assert sorted(e.input_id for e in rejects) == sorted(expected_rejects) and "m200" in expected_rejects
    assert len(graphs) + len(rejects) == len(smiles)
    reference, slices = InMemoryDataset.collate(singles)
    for key in ("x", "edge_attr", "edge_index", "z", "charge", "fp", "descriptors"):
        batch = featurizer.expand(graphs.data)[key] if key in ("x", "edge_attr") else graphs.data[key]
        assert torch.equal(batch.nan_to_num(-1.0), reference[key].nan_to_num(-1.0)), key  # NaN: a missing descriptor
        assert torch.equal(graphs.slices[key], slices[key]), key
    assert graphs.ids == reference.id


def test_config_is_json_ready_and_changes_with_settings():
    import json

    a, b = MoleculeFeaturizer().config(), MoleculeFeaturizer(fingerprint_bits=2048).config()
    assert json.loads(json.dumps(a)) == a and a != b and a["type"] == "MoleculeFeaturizer"
