import csv

import numpy as np
import pytest

from molgnn.chem.crystal import Crystal, read_cif
from molgnn.chem.pores import PoreGeometry, percolating


def _simple_cubic(a: float = 10.0) -> Crystal:
    """One carbon atom (zeo++ radius 1.7 Å) per cubic cell of edge ``a``."""
    return Crystal("sc", np.eye(3) * a, np.zeros((1, 3)), np.array([6]))


def _supercell(crystal: Crystal, n: int) -> Crystal:
    frac = np.concatenate([(crystal.frac + [i, 0, 0]) / [n, 1, 1] for i in range(n)])
    lattice = crystal.lattice * np.array([[n], [1], [1]])
    charges = None if crystal.charges is None else np.tile(crystal.charges, n)
    return Crystal(f"{crystal.id}x{n}", lattice, frac, np.tile(crystal.numbers, n), charges)


def test_simple_cubic_matches_the_geometry_by_hand():
    a, r, probe = 10.0, 1.7, 1.65
    values = PoreGeometry(spacing=0.25).analyse(_simple_cubic(a))
    assert values["lcd"] == pytest.approx(2 * (a * np.sqrt(3) / 2 - r), abs=0.01)  # cell centre to the corners
    assert values["pld"] == pytest.approx(2 * (a / np.sqrt(2) - r), abs=0.25)  # the centre of a face, between 4 atoms
    grown = r + probe  # the grown spheres do not touch each other: the whole sphere is accessible surface
    assert values["asa_volumetric"] == pytest.approx(4 * np.pi * grown**2 / a**3 * 1e4, rel=0.01)
    assert values["av_fraction"] == pytest.approx(1 - 4 / 3 * np.pi * grown**3 / a**3, abs=0.01)
    assert values["void_fraction"] == pytest.approx(1 - 4 / 3 * np.pi * r**3 / a**3, abs=0.01)  # all of the void is swept
    assert values["density"] == pytest.approx(12.011 / 6.02214076e23 / (a**3 * 1e-24), rel=1e-3)


def test_a_probe_larger_than_the_windows_gets_no_accessible_volume_or_surface():
    crystal = _simple_cubic(6.0)  # windows 2 * (6 / sqrt(2) - 1.7) = 5.09 Å wide, cavity 6.99 Å
    small = PoreGeometry(probe_radius=1.65).analyse(crystal)
    large = PoreGeometry(probe_radius=2.8, void_probe_radius=2.8).analyse(crystal)
    assert small["av_fraction"] > 0.1 and small["asa_gravimetric"] > 0
    assert large["av_fraction"] == 0 and large["asa_gravimetric"] == 0 and large["void_fraction"] == 0
    assert large["lcd"] == pytest.approx(small["lcd"]) and large["lcd"] > 2 * 2.8  # a cavity, but a closed one


def test_a_supercell_has_the_same_geometry(crafted):
    crystal = read_cif(crafted / "ACUBAB.cif")
    one, two = PoreGeometry().analyse(crystal), PoreGeometry().analyse(_supercell(crystal, 2))
    for name in PoreGeometry.names:
        tolerance = 0.3 if name in ("lcd", "pld") else 0.03 * abs(one[name]) + 1e-6
        assert two[name] == pytest.approx(one[name], abs=tolerance), name


def test_real_frameworks_agree_with_the_zeo_table(data_dir, crafted):
    table = {row["Name"]: row for row in csv.DictReader(open(data_dir / "crafted726" / "structural_data.csv"))}
    geometry = PoreGeometry()
    for name in ("ABUWOJ", "AFITIT", "ACUBAB"):
        ours, zeo = geometry.analyse(read_cif(crafted / f"{name}.cif")), table[name]
        assert ours["density"] == pytest.approx(float(zeo["cm3_g"]), rel=1e-3)
        assert ours["lcd"] == pytest.approx(float(zeo["LCD"]), abs=0.15)
        assert ours["pld"] == pytest.approx(float(zeo["PLD"]), abs=0.5)  # the grid sees windows up to a node narrower
        assert ours["asa_gravimetric"] == pytest.approx(float(zeo["ASA_m2_g"]), rel=0.15)
        assert ours["av_fraction"] == pytest.approx(float(zeo["AV_VF"]), abs=0.01)


def test_percolation_tells_channels_from_pockets():
    grid = np.zeros((8, 8, 8), dtype=bool)
    grid[:, 2, 2] = True  # a straight channel along the first axis
    grid[4:6, 5:7, 5:7] = True  # a closed pocket
    assert percolating(grid).sum() == 8
    diagonal = np.zeros((6, 6, 6), dtype=bool)
    for i in range(6):
        diagonal[i, i, 3] = diagonal[i, (i + 1) % 6, 3] = True  # a staircase that leaves through two faces
    assert percolating(diagonal).all() == diagonal.all() and percolating(diagonal).sum() == diagonal.sum()
    loop = np.zeros((6, 6, 6), dtype=bool)
    loop[0, :, 0] = loop[:, 0, 0] = False
    loop[1:4, 1, 1] = loop[1:4, 3, 1] = loop[1, 1:4, 1] = loop[3, 1:4, 1] = True  # a ring inside the cell
    assert not percolating(loop).any()
    assert not percolating(np.zeros((4, 4, 4), dtype=bool)).any()
