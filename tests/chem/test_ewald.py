import numpy as np
import pytest

from molgnn.chem.ewald import COULOMB_EV_ANGSTROM, ewald_energy, ewald_matrix

NACL_MADELUNG = 1.747564594633  # rock salt, per ion pair, nearest-neighbour distance as length unit
CSCL_MADELUNG = 1.762674773070


def rock_salt(a: float):
    cation = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    return np.eye(3) * a, np.vstack([cation, (cation + 0.5) % 1.0]), np.array([1.0] * 4 + [-1.0] * 4)


@pytest.mark.parametrize("a", [5.64, 11.0])
def test_nacl_madelung_constant(a):
    lattice, frac, charges = rock_salt(a)
    energy = ewald_energy(lattice, frac, charges)
    madelung = -energy / COULOMB_EV_ANGSTROM * (a / 2) / 4
    assert madelung == pytest.approx(NACL_MADELUNG, abs=1e-4)


def test_primitive_cell_and_cscl():
    a = 5.64
    primitive = np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]) * a
    energy = ewald_energy(primitive, np.array([[0, 0, 0], [0.5, 0.5, 0.5]]), np.array([1.0, -1.0]))
    assert -energy / COULOMB_EV_ANGSTROM * (a / 2) == pytest.approx(NACL_MADELUNG, abs=1e-4)
    energy = ewald_energy(np.eye(3) * 3.0, np.array([[0, 0, 0], [0.5, 0.5, 0.5]]), np.array([1.0, -1.0]))
    assert -energy / COULOMB_EV_ANGSTROM * (3.0 * np.sqrt(3) / 2) == pytest.approx(CSCL_MADELUNG, abs=1e-4)


def test_matrix_is_symmetric_and_independent_of_the_splitting():
    rng = np.random.default_rng(0)
    lattice = np.array([[7.0, 0.3, 0.0], [0.5, 8.0, 0.2], [0.1, -0.4, 9.0]])
    frac = rng.random((6, 3))
    coarse, fine = ewald_matrix(lattice, frac, real_cutoff=8.0), ewald_matrix(lattice, frac, real_cutoff=14.0)
    assert np.allclose(coarse, coarse.T)
    assert np.allclose(coarse, fine, atol=1e-5)
