"""The featurizer contract on both featurizers, and the registry that finds them by config, kind and record."""

import pytest
from pymatgen.core import Structure

from molgnn.chem.crystal import CifText, Crystal, read_cif
from molgnn.chem.errors import InvalidSmilesError, InvalidStructureError
from molgnn.errors import ConfigError
from molgnn.featurize.base import CRYSTALS, GRAPH_PARTS, KINDS, MOLECULES, Featurizer
from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.featurize.molecule import MoleculeFeaturizer
from molgnn.featurize.registry import (
    UnknownFeaturizerError,
    featurizer_class,
    featurizer_for_kind,
    featurizer_from_config,
    kind_of_record,
)


@pytest.mark.parametrize("featurizer", [MoleculeFeaturizer(), MoleculeFeaturizer(gasteiger=True, fingerprint_bits=64),
                                        CrystalFeaturizer(), CrystalFeaturizer(cutoff=6.0, charges="eqeq")])
def test_config_round_trip_and_kind(featurizer):
    assert isinstance(featurizer, Featurizer) and featurizer.kind in KINDS
    assert featurizer_from_config(featurizer.config()) == featurizer
    assert featurizer_for_kind(featurizer.kind) is type(featurizer) is featurizer_class(featurizer.config()["type"])
    assert featurizer.provides <= set(GRAPH_PARTS) and featurizer.chunk_size > 0


def test_what_the_graphs_carry_and_the_model_input_sizes(crafted):
    plain, full = MoleculeFeaturizer(), MoleculeFeaturizer(gasteiger=True, fingerprint_bits=64)
    assert plain.provides == frozenset() and full.provides == {"charges", "fingerprint"}
    graph = full("c1ccccc1O")
    assert full.graph_dims() == {"node_dim": graph.x.shape[1], "edge_dim": graph.edge_attr.shape[1], "fp_dim": graph.fp.shape[1]}
    assert {part for part, key in GRAPH_PARTS.items() if key in graph} == full.provides
    crystal = CrystalFeaturizer(charges="cif")
    mof = crystal(crafted / "ACOLIP.cif")
    assert crystal.provides == {"charges"} and "charge" in mof and CrystalFeaturizer(charges="none").provides == frozenset()
    assert crystal.graph_dims() == {"node_dim": mof.x.shape[1], "edge_dim": mof.edge_attr.shape[1]}


def test_every_crystal_record_type_gives_the_same_graph(crafted):
    path = crafted / "ACOLIP.cif"
    featurizer = CrystalFeaturizer(charges="none")  # pymatgen's CIF reader drops _atom_site_charge
    records = [path, str(path), CifText(path.read_text()), read_cif(path, "ACOLIP"), Structure.from_file(path)]
    assert all(featurizer.accepts(record) for record in records) and not featurizer.accepts("CCO")
    graphs, rejects = featurizer.featurize_many(records, ["r0", "r1", "r2", "r3", "r4"])
    assert not rejects and len(graphs) == 5
    edges = {len(graphs.get(k).edge_dist) for k in range(5)}
    assert len(edges) == 1 and graphs.get(2).id == "r2"


def test_read_many_parses_once_and_rejects_without_stopping(crafted):
    crystals, rejects = CrystalFeaturizer.read_many([crafted / "ACOLIP.cif", CifText("not a cif"), 42], ["a", "b", "c"])
    assert isinstance(crystals[0], Crystal) and crystals[1:] == [None, None]
    assert [type(e) for e in rejects] == [InvalidStructureError, InvalidStructureError]
    assert [e.input_id for e in rejects] == ["b", "c"] and "cannot read a int" in rejects[1].reason
    graphs, rejects = CrystalFeaturizer(charges="cif").featurize_many(crystals[:1], ["a"])
    assert graphs.ids == ["a"] and not rejects
    smiles, none = MoleculeFeaturizer.read_many(["CCO", "C1CC"], ["a", "b"])
    assert smiles == ["CCO", "C1CC"] and none == []  # molecules parse in featurize_many, in one batch
    _, rejects = MoleculeFeaturizer().featurize_many(smiles, ["a", "b"])
    assert [type(e) for e in rejects] == [InvalidSmilesError]


def test_the_registry_names_what_it_holds():
    assert kind_of_record("CCO") == MOLECULES and kind_of_record("mofs/x.CIF") == CRYSTALS
    with pytest.raises(UnknownFeaturizerError, match="registered: CrystalFeaturizer, MoleculeFeaturizer"):
        featurizer_from_config({"type": "ProteinFeaturizer"})
    with pytest.raises(ConfigError, match="no featurizer takes a int"):
        kind_of_record(7)
    with pytest.raises(ConfigError, match="needs its 'type'"):
        featurizer_from_config({"cutoff": 8.0})


def test_limited_to_drops_the_parts_a_model_does_not_read_and_keeps_what_the_others_need():
    from molgnn.featurize.crystal import CrystalFeaturizer
    from molgnn.featurize.molecule import MoleculeFeaturizer

    assert CrystalFeaturizer(charges="cif").limited_to(frozenset()).charges == "none"
    assert CrystalFeaturizer(charges="cif").limited_to({"charges"}).charges == "cif"
    with_energies = CrystalFeaturizer(charges="cif", descriptors=("pores", "energies"))
    assert with_energies.limited_to({"descriptors"}) == with_energies  # the energies' Coulomb part reads the charges
    pores = CrystalFeaturizer(charges="cif", descriptors=("pores",)).limited_to({"descriptors"})
    assert pores.charges == "none" and pores.descriptors == ("pores",)
    assert CrystalFeaturizer(charges="eqeq", descriptors=("pores",)).limited_to(set()).descriptors == ()
    molecule = MoleculeFeaturizer(gasteiger=True, fingerprint_bits=64).limited_to({"fingerprint"})
    assert not molecule.gasteiger and molecule.fingerprint_bits == 64
