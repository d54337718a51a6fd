import gc

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from molgnn.chem import molecule as chem
from molgnn.chem.errors import InvalidInputError, InvalidSmilesError


@pytest.mark.parametrize(
    "smiles, reason",
    [("", "empty SMILES"), ("   ", "empty SMILES"), ("C1CC", "syntax"), ("C(C)(C)(C)(C)C", "valence"), (None, "must be a string"),
     (float("nan"), "must be a string")],
)
def test_bad_smiles_raise_typed_error_naming_input(smiles, reason):
    with pytest.raises(InvalidSmilesError) as caught:
        chem.parse_smiles(smiles, input_id="record-7")
    assert caught.value.input_id == "record-7"
    assert reason in caught.value.reason
    assert str(caught.value).startswith("record-7: ")
    assert isinstance(caught.value, InvalidInputError) and isinstance(caught.value, ValueError)


def test_error_defaults_to_naming_the_smiles():
    with pytest.raises(InvalidSmilesError, match="^C1CC: "):
        chem.parse_smiles("C1CC")


def test_parse_many_keeps_order_and_reports_each_reject():
    mols, positions, rejects = chem.parse_many(["CCO", "C1CC", "c1ccccc1", ""], ["a", "b", "c", "d"])
    assert positions == [0, 2]
    assert [m.GetNumAtoms() for m in mols] == [3, 6]
    assert [(e.input_id, type(e).__name__) for e in rejects] == [("b", "InvalidSmilesError"), ("d", "InvalidSmilesError")]


def _full_read(mols):
    atoms = np.array([(a.GetAtomicNum(), a.GetDegree(), a.GetFormalCharge(), int(a.GetHybridization()), a.GetIsAromatic(),
                       a.GetTotalNumHs(), a.IsInRing(), int(a.GetChiralTag()), a.GetNumRadicalElectrons())
                      for m in mols for a in m.GetAtoms()])
    bonds = np.array([(b.GetBeginAtomIdx(), b.GetEndAtomIdx(), int(b.GetBondType()), b.GetIsConjugated(), b.IsInRing(),
                       int(b.GetStereo())) for m in mols for b in m.GetBonds()])
    return atoms, bonds


def test_rejects_leave_no_reference_cycle_that_would_keep_the_batch_alive():
    # a kept traceback would hold parse_many's frame, its list of molecules and the rejects list itself
    gc.collect()
    gc.disable()
    try:
        mols, _, rejects = chem.parse_many(["CCO", "C1CC(", "c1ccccc1", "C(C)(C)(C)(C)C"], ["a", "b", "c", "d"])
        assert len(mols) == 2 and [error.__traceback__ for error in rejects] == [None, None]
        del mols, rejects
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_detached_error_drops_its_own_and_its_causes_tracebacks():
    try:
        try:
            raise OSError("unreadable")
        except OSError as cause:
            raise InvalidSmilesError("x", "cannot read it") from cause
    except InvalidSmilesError as raised:
        error = raised
    assert error.detached() is error and error.__traceback__ is None
    assert error.__cause__.__traceback__ is None and str(error.__cause__) == "unreadable"


@pytest.mark.parametrize("name", ["tox21.csv", "sider.csv", "clintox.csv", "qm9_subset_499.csv"])
def test_tables_equal_a_full_read_of_every_rdkit_getter(data_dir, name):
    """The shortcuts (facts derived from bonds, hints from the SMILES text) change nothing."""
    smiles = pd.read_csv(data_dir / "molnet" / name)["smiles"].tolist()
    mols, positions, _ = chem.parse_many(smiles, range(len(smiles)))
    tables = chem.molecule_tables(mols, [smiles[p] for p in positions])
    atoms, bonds = _full_read(mols)
    np.testing.assert_array_equal(tables.atoms, atoms)
    np.testing.assert_array_equal(tables.bonds, bonds)
    assert tables.atom_counts.sum() == len(atoms) and tables.bond_counts.sum() == len(bonds)


def test_dative_bond_is_read_as_dative_not_single():
    smiles = "[NH3]->[Pt]"
    tables = chem.molecule_tables([Chem.MolFromSmiles(smiles)], [smiles])
    assert tables.bonds[0, 2] == int(Chem.BondType.DATIVE)


def test_gasteiger_charges_sum_to_formal_charge_and_reject_missing_parameters():
    mol = chem.parse_smiles("CC(=O)[O-]")
    assert chem.gasteiger_charges(mol, "acetate").sum() == pytest.approx(-1.0, abs=1e-4)
    with pytest.raises(InvalidInputError, match="Gasteiger charges undefined.*Hg") as caught:
        chem.gasteiger_charges(chem.parse_smiles("C[Hg]Cl"), "methylmercury")
    assert caught.value.input_id == "methylmercury"


def test_morgan_fingerprint_is_bits_of_requested_length():
    bits = chem.morgan_fingerprint(chem.parse_smiles("c1ccccc1O"), radius=2, bits=512)
    assert bits.shape == (512,) and bits.dtype == np.uint8 and set(np.unique(bits)) <= {0, 1} and bits.sum() > 3


@pytest.mark.parametrize("smiles", ["CC\nCC", "CC CC", "c1ccccc1\tO"])
def test_whitespace_inside_a_smiles_is_refused_not_truncated(smiles):
    with pytest.raises(InvalidSmilesError, match="holds whitespace") as raised:
        chem.parse_smiles(smiles)
    assert repr(smiles.split()[0]) in raised.value.reason  # says what RDKit would have read


def test_whitespace_around_a_smiles_is_ignored():
    assert chem.parse_smiles("  CCO\n").GetNumAtoms() == 3


@pytest.mark.parametrize("name", ["tox21.csv", "sider.csv", "clintox.csv", "qm8.csv.gz"])
def test_parsing_equals_rdkits_default_parse_with_and_without_hydrogen_atoms(data_dir, name):
    """The parse skips RDKit's hydrogen removal when the SMILES writes no hydrogen atom, and its stereo
    perception when the SMILES states no stereochemistry; the molecules stay the same."""
    smiles = pd.read_csv(data_dir / "molnet" / name)["smiles"].tolist()[:3000]
    assert any(chem.EXPLICIT_HYDROGEN.search(s) for s in smiles)  # both paths are taken (qm8 writes every H)
    stated = [bool(chem.STEREO_MARK.search(s)) for s in smiles]
    assert not all(stated) and (any(stated) or name == "qm8.csv.gz")  # qm8 states no stereochemistry
    mols, positions, _ = chem.parse_many(smiles, smiles)
    assert positions == [k for k, text in enumerate(smiles) if Chem.MolFromSmiles(text) is not None]  # the same rejects
    reference = [Chem.MolFromSmiles(smiles[k]) for k in positions]
    assert [Chem.MolToSmiles(m) for m in mols] == [Chem.MolToSmiles(m) for m in reference]
    ours, theirs = chem.molecule_tables(mols), chem.molecule_tables(reference)
    assert np.array_equal(ours.atoms, theirs.atoms) and np.array_equal(ours.bonds, theirs.bonds)


@pytest.mark.parametrize("smiles", ["[H]C([H])([H])O", "[2H]OC", "[H+].[Cl-]", "[H:1]C"])
def test_explicit_hydrogen_atoms_are_recognised(smiles):
    assert chem.EXPLICIT_HYDROGEN.search(smiles)


@pytest.mark.parametrize("smiles", ["[NH4+]", "C[C@H](N)O", "[Hg+2]", "[He]", "[HfH4]", "Cl[Ho]", "c1cc[nH]c1"])
def test_hydrogen_counts_and_h_elements_are_not_hydrogen_atoms(smiles):
    assert not chem.EXPLICIT_HYDROGEN.search(smiles)
