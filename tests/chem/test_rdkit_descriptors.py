import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors

from molgnn.chem.rdkit_descriptors import LEFT_OUT, rdkit_2d_descriptors, rdkit_2d_names


def test_values_are_rdkits_own_in_the_order_of_the_names():
    names = rdkit_2d_names()
    assert len(names) > 150 and not set(LEFT_OUT) & set(names)
    mols = [Chem.MolFromSmiles(s) for s in ("CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1")]
    values = rdkit_2d_descriptors(mols)
    assert values.shape == (3, len(names)) and values.dtype == np.float32
    assert values[1, names.index("MolLogP")] == pytest.approx(Crippen.MolLogP(mols[1]), rel=1e-6)
    assert values[2, names.index("TPSA")] == pytest.approx(Descriptors.TPSA(mols[2]), rel=1e-6)
    assert values[0, names.index("NumHDonors")] == 1


def test_descriptors_rdkit_cannot_compute_are_nan_and_the_rest_kept():
    # BCUT2D needs Gasteiger parameters, which platinum lacks: RDKit gives NaN (or raises) for those only
    values = rdkit_2d_descriptors([Chem.MolFromSmiles("[Pt]"), Chem.MolFromSmiles("CCO")])
    names = rdkit_2d_names()
    missing = {names[k] for k in np.flatnonzero(np.isnan(values[0]))}
    assert missing and all(name.startswith(("BCUT2D", "MaxPartialCharge", "MinPartialCharge", "MaxAbsPartialCharge",
                                            "MinAbsPartialCharge")) for name in missing)
    assert np.isfinite(values[1]).all()
    assert values[0, names.index("HeavyAtomCount")] == 1


def test_no_molecules_gives_an_empty_table():
    assert rdkit_2d_descriptors([]).shape == (0, len(rdkit_2d_names()))
