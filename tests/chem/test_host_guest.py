import numpy as np
import pandas as pd
import pytest
from scipy.special import erfc
from scipy.stats import spearmanr

from molgnn.chem.crystal import Crystal, read_cif
from molgnn.chem.errors import ForceFieldError
from molgnn.chem.forcefield import CO2, COULOMB_K_ANGSTROM, uff_parameters
from molgnn.chem.host_guest import HostGuestEnergies


def _lj(r, sigma, epsilon):
    return 4 * epsilon * ((sigma / r) ** 12 - (sigma / r) ** 6)


def test_one_atom_in_a_large_box_gives_the_pair_energies_by_hand():
    box = Crystal("argon", np.eye(3) * 40.0, np.array([[0.5, 0.5, 0.5]]), np.array([18]))
    sigma, epsilon = (v[0] for v in uff_parameters(np.array([18]), "argon"))
    energies = HostGuestEnergies(cutoff=12.0)
    centre, distance = np.array([20.0, 20.0, 20.0]), 4.5
    lj, coulomb = energies.energies(box, centre + [distance, 0, 0], np.array([1.0, 0.0, 0.0]))  # CO2 along the line
    expected = sum(_lj(distance + offset, 0.5 * (site.sigma + sigma), np.sqrt(site.epsilon * epsilon))
                   for site, offset in zip(CO2.sites, CO2.offsets))
    assert lj[0] == pytest.approx(expected, rel=1e-5)  # float32 pair sums
    assert coulomb[0] == 0.0  # no charges
    far, _ = energies.energies(box, centre + [12.5, 0, 0], np.array([0.0, 0.0, 1.0]))
    assert far[0] == 0.0  # every site beyond the cutoff


def test_coulomb_is_the_damped_sum_over_a_neutral_pair():
    frac = np.array([[0.25, 0.5, 0.5], [0.75, 0.5, 0.5]])
    pair = Crystal("pair", np.eye(3) * 40.0, frac, np.array([11, 17]), np.array([1.0, -1.0]))
    energies = HostGuestEnergies(cutoff=12.0, damping=0.2)
    centre, axis = np.array([10.0, 24.0, 20.0]), np.array([0.0, 1.0, 0.0])
    _, coulomb = energies.energies(pair, centre, axis)
    shift = erfc(0.2 * 12.0) / 12.0
    expected = 0.0
    for site, offset in zip(CO2.sites, CO2.offsets):
        for position, q in ((np.array([10.0, 20.0, 20.0]), 1.0), (np.array([30.0, 20.0, 20.0]), -1.0)):
            r = np.linalg.norm(centre + offset * axis - position)
            if r < 12.0:
                expected += site.charge * q * (erfc(0.2 * r) / r - shift) * COULOMB_K_ANGSTROM
    assert coulomb[0] == pytest.approx(expected, rel=1e-5) and abs(expected) > 1.0


def test_energies_in_a_real_framework_are_the_direct_pair_sums(crafted):
    crystal = read_cif(crafted / "ABUWOJ.cif")  # 224 atoms with DDEC charges
    energies = HostGuestEnergies(cutoff=12.0, damping=0.2)
    rng = np.random.default_rng(3)
    centres = rng.random((40, 3)) @ crystal.lattice
    axes = rng.normal(size=(40, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    lj, coulomb = energies.energies(crystal, centres, axes)
    sigma, epsilon = uff_parameters(crystal.numbers, crystal.id)
    charges = crystal.charges - crystal.charges.mean()
    shifts = np.stack(np.meshgrid(*[np.arange(-2, 3)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    images = ((crystal.frac[None] + shifts[:, None]) @ crystal.lattice).reshape(-1, 3)  # 5x5x5 cells hold 12 Å
    atom = np.tile(np.arange(len(crystal)), len(shifts))
    shift = erfc(0.2 * 12.0) / 12.0
    for k in range(len(centres)):
        expected_lj = expected_coulomb = 0.0
        for site, offset in zip(CO2.sites, CO2.offsets):
            r = np.linalg.norm(images - (centres[k] + offset * axes[k]), axis=1)
            near = r < 12.0
            r, j = np.maximum(r[near], 0.1), atom[near]
            expected_lj += _lj(r, 0.5 * (site.sigma + sigma[j]), np.sqrt(site.epsilon * epsilon[j])).sum()
            expected_coulomb += (site.charge * charges[j] * (erfc(0.2 * r) / r - shift)).sum() * COULOMB_K_ANGSTROM
        assert lj[k] == pytest.approx(expected_lj, rel=1e-4, abs=0.05)
        assert coulomb[k] == pytest.approx(expected_coulomb, rel=1e-4, abs=0.05)


def test_the_coulomb_design_times_any_charges_is_the_coulomb_energy(crafted):
    crystal = read_cif(crafted / "ABUWOJ.cif")
    energies = HostGuestEnergies(cutoff=12.0, damping=0.2)
    rng = np.random.default_rng(5)
    centres = rng.random((30, 3)) @ crystal.lattice
    axes = rng.normal(size=(30, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    design = energies.coulomb_design(crystal, centres, axes)
    assert design.shape == (30, len(crystal))
    for charges in (crystal.charges, rng.normal(size=len(crystal)) + 0.3):  # the second with a net charge to spread
        _, coulomb = energies.energies(Crystal(crystal.id, crystal.lattice, crystal.frac, crystal.numbers, charges),
                                       centres, axes)
        np.testing.assert_allclose(design @ charges, coulomb, rtol=1e-4, atol=0.05)


def test_favourable_insertions_are_the_lowest_energies_of_the_tries(crafted):
    crystal = read_cif(crafted / "ABUWOJ.cif")
    energies = HostGuestEnergies(seed=2)
    centres, axes = energies.favourable_insertions(crystal, 10, tries=300)
    assert centres.shape == axes.shape == (10, 3)
    np.testing.assert_allclose(np.linalg.norm(axes, axis=1), 1.0)
    lj, coulomb = energies.energies(crystal, centres, axes)
    best = lj + coulomb
    assert np.all(np.diff(best) >= -1e-3) and best[-1] < 0  # sorted, all binding
    rng = np.random.default_rng(0)
    random = energies.energies(crystal, rng.random((300, 3)) @ crystal.lattice, np.tile([0.0, 0.0, 1.0], (300, 1)))
    assert best[-1] < np.median(np.sum(random, axis=0))
    again, _ = energies.favourable_insertions(crystal, 10, tries=300)
    np.testing.assert_array_equal(again, centres)  # seeded


def test_favourable_coulomb_design_is_the_design_at_the_favourable_insertions(crafted):
    crystal = read_cif(crafted / "ABUWOJ.cif")
    energies = HostGuestEnergies(seed=2)
    centres, axes = energies.favourable_insertions(crystal, 10, tries=300)
    np.testing.assert_array_equal(energies.favourable_coulomb_design(crystal, 10, tries=300),
                                  energies.coulomb_design(crystal, centres, axes))


def _supercell(crystal: Crystal, n: int) -> Crystal:
    frac = np.concatenate([(crystal.frac + [i, 0, 0]) / [n, 1, 1] for i in range(n)])
    return Crystal(crystal.id, crystal.lattice * np.array([[n], [1], [1]]), frac, np.tile(crystal.numbers, n),
                   np.tile(crystal.charges, n))


def test_a_supercell_gives_the_same_descriptors_within_sampling_noise(crafted):
    crystal = read_cif(crafted / "ACUBAB.cif")
    energies = HostGuestEnergies(insertions=4000)
    one, two = energies.analyse(crystal), energies.analyse(_supercell(crystal, 2))
    assert two["log10_henry"] == pytest.approx(one["log10_henry"], abs=0.1)
    assert two["heat_of_adsorption"] == pytest.approx(one["heat_of_adsorption"], abs=1.5)
    assert two["volume"].sum() == pytest.approx(one["volume"].sum(), rel=0.05)  # the room for CO2, per gram
    assert np.abs(two["volume"] - one["volume"]).sum() < 0.25 * one["volume"].sum()  # 13 bins of ~300 insertions
    assert np.abs(two["weight"] - one["weight"]).sum() < 0.25


def test_a_net_charge_is_spread_over_the_framework(crafted):
    crystal = read_cif(crafted / "ABUWOJ.cif")
    shifted = Crystal(crystal.id, crystal.lattice, crystal.frac, crystal.numbers, crystal.charges + 0.05)
    energies = HostGuestEnergies(insertions=500)
    assert energies(shifted) == pytest.approx(energies(crystal), rel=1e-9)
    neutral = Crystal(crystal.id, crystal.lattice, crystal.frac, crystal.numbers, None)
    charged, uncharged = energies.analyse(crystal), energies.analyse(neutral)
    assert uncharged["boltzmann_coulomb"] == 0.0 and charged["boltzmann_coulomb"] < -5.0  # a MOF with open Zn sites
    assert charged["log10_henry"] > uncharged["log10_henry"]


def test_a_structure_without_room_for_co2_is_a_valid_zero():
    dense = Crystal("dense", np.eye(3) * 3.0, np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]), np.array([6, 6]))
    values = HostGuestEnergies(insertions=100).analyse(dense)
    assert values["log10_henry"] == -10.0 and values["volume"].sum() == 0 and values["heat_of_adsorption"] == 0


def test_a_framework_whose_positions_all_repel_gets_the_zero_of_no_room(crafted):
    """SOWYIM and PEPXIS adsorb no CO2 in crafted726's GCMC isotherms; Boltzmann averages over their
    repulsive positions would give heats of adsorption down to -1e5 kJ/mol."""
    for name in ("SOWYIM", "PEPXIS"):
        values = HostGuestEnergies().analyse(read_cif(crafted / f"{name}.cif"))
        assert values["log10_henry"] == -10.0
        assert values["heat_of_adsorption"] == values["min_energy"] == values["boltzmann_lj"] == 0.0
        assert values["volume"].sum() == 0 and values["weight"].sum() == 0


def test_an_element_without_uff_parameters_is_named():
    crystal = Crystal("MOF-X", np.eye(3) * 10.0, np.array([[0.0, 0.0, 0.0]]), np.array([110]))
    with pytest.raises(ForceFieldError, match="MOF-X.*no UFF Lennard-Jones parameters for Ds"):
        HostGuestEnergies().analyse(crystal)


@pytest.mark.slow
def test_henry_coefficients_rank_frameworks_as_the_gcmc_isotherms_do(data_dir, crafted):
    """Widom K_H against the slope of the UFF+DDEC GCMC isotherm at its lowest pressure (0.001 bar)."""
    names = ["ABUWOJ", "ASALIP", "BEGBOG", "BEPPIX", "BUKMUQ", "CAXWAB", "CUNXIS", "DAXNOG", "ACUBAB", "AFITIT"]
    ours, gcmc = [], []
    for name in names:
        ours.append(HostGuestEnergies(insertions=2000).analyse(read_cif(crafted / f"{name}.cif"))["log10_henry"])
        iso = pd.read_csv(data_dir / "crafted726" / "isotherms" / f"{name}_CO2.csv")
        low = iso[(iso["ID"] == 1) & (iso["Temp(K)"] == 298)].sort_values("Pressure(Pa)").iloc[0]
        gcmc.append(np.log10(low["Loading(mmol/g)"] / low["Pressure(Pa)"]))  # mmol/(g Pa) = mol/(kg Pa)
    ours, gcmc = np.array(ours), np.array(gcmc)
    assert spearmanr(ours, gcmc)[0] > 0.9
    assert np.median(np.abs(ours - gcmc)) < 0.3  # within a factor of two of the simulation, in absolute terms
