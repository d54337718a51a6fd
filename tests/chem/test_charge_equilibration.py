import numpy as np
import pytest

from molgnn.chem.charge_equilibration import EQeq, eqeq_charges
from molgnn.chem.crystal import Crystal, read_cif
from molgnn.chem.errors import ChargeEquilibrationError, InvalidInputError


@pytest.fixture(scope="module")
def fudqif(data_dir) -> Crystal:
    """A small crafted726 structure (28 atoms; Zn, Si, F, N, C, H), with its published EQeq charges."""
    return read_cif(data_dir / "crafted726" / "cif" / "EQeq" / "FUDQIF.cif")


def test_close_to_published_eqeq_charges(fudqif):
    charges = eqeq_charges(fudqif)
    assert np.corrcoef(charges, fudqif.charges)[0, 1] > 0.999
    assert np.abs(charges - fudqif.charges).mean() < 0.01


def test_larger_structure_close_to_published_charges(data_dir):
    crystal = read_cif(data_dir / "crafted726" / "cif" / "EQeq" / "ABUWOJ.cif")
    charges = eqeq_charges(crystal)
    assert np.corrcoef(charges, crystal.charges)[0, 1] > 0.97
    assert np.abs(charges - crystal.charges).mean() < 0.03


def test_neutral_and_given_total_charge(fudqif):
    assert abs(eqeq_charges(fudqif).sum()) < 1e-6
    assert eqeq_charges(fudqif, total_charge=1.0).sum() == pytest.approx(1.0, abs=1e-6)


def test_invariant_to_supercell(fudqif):
    charges = eqeq_charges(fudqif)
    repeats = np.array([2, 1, 1])
    shifts = np.array([[i, 0, 0] for i in range(2)])
    frac = ((fudqif.frac[None] + shifts[:, None]) / repeats).reshape(-1, 3)
    supercell = Crystal("super", fudqif.lattice * repeats[:, None], frac, np.tile(fudqif.numbers, 2))
    assert np.allclose(eqeq_charges(supercell), np.tile(charges, 2), atol=1e-5)


def test_invariant_to_atom_order_and_cell_origin(fudqif):
    charges = eqeq_charges(fudqif)
    order = np.random.default_rng(1).permutation(len(fudqif))
    shuffled = Crystal("shuffled", fudqif.lattice, (fudqif.frac[order] + 0.37) % 1.0, fudqif.numbers[order])
    assert np.allclose(eqeq_charges(shuffled), charges[order], atol=1e-6)


def test_unknown_element_parameters_raise_a_typed_error(fudqif):
    numbers = fudqif.numbers.copy()
    numbers[0] = 118  # oganesson: no tabulated ionization energies
    with pytest.raises(ChargeEquilibrationError, match="FUDQIF.*no EQeq parameters for Og") as caught:
        eqeq_charges(Crystal("FUDQIF", fudqif.lattice, fudqif.frac, numbers))
    assert isinstance(caught.value, InvalidInputError) and caught.value.input_id == "FUDQIF"


def test_coinciding_atoms_are_a_singular_system(fudqif):
    frac = fudqif.frac.copy()
    frac[1] = frac[0]
    with pytest.raises(ChargeEquilibrationError, match="singular"):
        EQeq()(Crystal("twin", fudqif.lattice, frac, fudqif.numbers))


def test_a_saddle_point_with_absurd_charges_is_refused(data_dir):
    """A dense hypothetical MOF whose EQeq energy has no minimum: the stationary point puts ~9 e on an atom."""
    crystal = read_cif(data_dir / "hmof100" / "cif" / "hMOF-5030640.cif")
    with pytest.raises(ChargeEquilibrationError, match="hMOF-5030640: charge equilibration has no physical solution"):
        eqeq_charges(crystal)
