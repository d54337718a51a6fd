"""Partial charges of periodic structures by extended charge equilibration (EQeq).

EQeq (Wilmer, Kim & Snurr, J. Phys. Chem. Lett. 3, 2506 (2012)) minimizes, under a fixed total
charge, the energy

    E(q) = sum_i (chi_i q_i + J_i q_i^2 / 2) + (lambda k / 4) sum_ij q_i q_j (phi_ij + omega_ij)

so the charges solve the linear system  chi_i + J_i q_i + (lambda k / 2) sum_j (phi_ij + omega_ij) q_j = mu
(the same for every atom) with  sum_i q_i = Q. Here phi is the Ewald pair-potential matrix
(``molgnn.chem.ewald``), k = 14.4 eV Å, lambda = 1.2 the dielectric screening of the paper, and
omega the paper's short-range orbital-overlap correction for every pair (and periodic image)
closer than the cutoff: omega(r) = exp(-a^2 r^2) (2a - a^2 r - 1/r) with a = sqrt(J_i J_j) / k.
The factor k / 2 and the constants follow the authors' reference program (github.com/numat/EQeq),
which computed the EQeq charges distributed with CoRE MOF and CRAFTED.

Electronegativity and hardness come from measured ionization energies around a "charge centre"
C (the usual oxidation state of a metal; 0 otherwise): with IP_0 the electron affinity and IP_n
the n-th ionization energy, J = IP_{C+1} - IP_C and chi = (IP_{C+1} + IP_C) / 2 - C J. The
ionization energies and electron affinities are NIST values as tabulated by pymatgen
(``Element.ionization_energies``, ``Element.electron_affinity``); an electron affinity below
``UNBOUND_ANION_EA`` (an estimate for an anion that is not bound) counts as 0, as in the paper's
table; hydrogen uses the paper's electron affinity of -2.0 eV. The charge centres are those of the
reference program (Mg, Co, Ni, Cu, Zn: +2; V, Zr: +4).

Written here (vectorized numpy/scipy) because no maintained Python package computes periodic
EQeq charges: the reference program is a C++ executable with O(N^2) loops over 125 cell images.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import scipy.linalg

from molgnn.chem.crystal import Crystal
from molgnn.chem.elements import symbol
from molgnn.chem.errors import ChargeEquilibrationError
from molgnn.chem.ewald import DEFAULT_TOLERANCE, ewald_matrix
from molgnn.chem.neighbors import periodic_neighbors

EQEQ_COULOMB = 14.4  # eV Å, the reference program's constant
UNBOUND_ANION_EA = -0.1  # eV
DEFAULT_CHARGE_CENTERS = {"Mg": 2, "V": 4, "Co": 2, "Ni": 2, "Cu": 2, "Zn": 2, "Zr": 4}
MIN_DISTANCE = 0.1  # Å: closer atoms make the system singular (coinciding rows)
PLAUSIBLE_CHARGE_MARGIN = 4.0  # e beyond an atom's charge centre: a larger |q| is not chemistry


@dataclass(frozen=True)
class EQeq:
    """Extended charge equilibration of a periodic cell.

    Args:
        dielectric: the paper's lambda, scaling every Coulomb term (1.2).
        hydrogen_electron_affinity: eV (-2.0 in the paper).
        charge_centers: element -> charge centre; elements not listed use 0.
        real_cutoff: Å, real-space cutoff of the Ewald sum and of the overlap correction.
        tolerance: relative size of the Ewald terms left out.
        total_charge: the cell's total charge, e.
    """

    dielectric: float = 1.2
    hydrogen_electron_affinity: float = -2.0
    charge_centers: dict = field(default_factory=lambda: dict(DEFAULT_CHARGE_CENTERS))
    real_cutoff: float = 12.0
    tolerance: float = DEFAULT_TOLERANCE
    total_charge: float = 0.0

    def parameters(self, numbers: np.ndarray, input_id: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Electronegativity ``chi`` and hardness ``J`` (eV) and the charge centre of each atom."""
        chi, hardness, centers = np.empty(len(numbers)), np.empty(len(numbers)), np.empty(len(numbers))
        for z in np.unique(numbers):
            element = symbol(int(z))
            center = self.charge_centers.get(element, _default_charge_center(element))
            values = _element_parameters(element, center, self.hydrogen_electron_affinity)
            if values is None:
                raise ChargeEquilibrationError(
                    input_id, f"no EQeq parameters for {element}: ionization energies around its charge centre "
                    f"{center} are not tabulated")
            chi[numbers == z], hardness[numbers == z] = values
            centers[numbers == z] = center
        return chi, hardness, centers

    def matrix(self, crystal: Crystal, hardness: np.ndarray) -> np.ndarray:
        """The ``[N, N]`` hardness matrix of the linear system (eV / e)."""
        pairs = periodic_neighbors(crystal.lattice, crystal.frac, self.real_cutoff, crystal.id)
        centers, neighbors, _, r = pairs
        if len(r) and r.min() < MIN_DISTANCE:
            k = int(np.argmin(r))
            raise ChargeEquilibrationError(
                crystal.id, f"atoms {centers[k]} and {neighbors[k]} are {r[k]:.3g} Å apart: the charge equilibration "
                "system is singular")
        phi = ewald_matrix(crystal.lattice, crystal.frac, self.real_cutoff, self.tolerance, pairs)
        a = np.sqrt(hardness[centers] * hardness[neighbors]) / EQEQ_COULOMB
        overlap = np.exp(-(a * r) ** 2) * (2.0 * a - a * a * r - 1.0 / r)
        n = len(crystal)
        phi += np.bincount(centers * n + neighbors, weights=overlap, minlength=n * n).reshape(n, n)
        matrix = (0.5 * self.dielectric * EQEQ_COULOMB) * phi
        matrix[np.diag_indices(n)] += hardness
        return matrix

    def __call__(self, crystal: Crystal) -> np.ndarray:
        """Charges (e) of every atom of ``crystal``; they sum to ``total_charge`` (to 1e-9).

        Raises:
            ChargeEquilibrationError: naming the structure: an element without parameters, a singular
                or ill-conditioned system (e.g. overlapping atoms), or a solution with an atom's
                charge more than ``PLAUSIBLE_CHARGE_MARGIN`` beyond its charge centre (the EQeq
                energy is then a saddle, not a minimum: this happens for some dense hypothetical
                MOFs, whose hardness matrix is not positive definite).
        """
        chi, hardness, centers = self.parameters(crystal.numbers, crystal.id)
        charges = solve_equilibration(self.matrix(crystal, hardness), chi, self.total_charge, crystal.id)
        excess = np.abs(charges) - (np.abs(centers) + PLAUSIBLE_CHARGE_MARGIN)
        if excess.max() > 0:
            i = int(np.argmax(excess))
            raise ChargeEquilibrationError(
                crystal.id, f"charge equilibration has no physical solution: atom {i} ({symbol(int(crystal.numbers[i]))}) "
                f"gets {charges[i]:+.2f} e (the EQeq energy of this geometry has no minimum; polarization catastrophe)")
        return charges


def solve_equilibration(matrix: np.ndarray, chi: np.ndarray, total_charge: float, input_id: object) -> np.ndarray:
    """Solve ``matrix @ q + chi = mu`` (equal for all atoms) with ``sum(q) = total_charge``.

    The bordered (KKT) system is solved by LU with scipy's condition estimate; a singular or
    ill-conditioned system raises ``ChargeEquilibrationError`` instead of returning noise.
    """
    n = len(chi)
    system = np.empty((n + 1, n + 1))
    system[:n, :n] = matrix
    system[:n, n] = system[n, :n] = 1.0
    system[n, n] = 0.0
    rhs = np.append(-chi, total_charge)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
            solution = scipy.linalg.solve(system, rhs, assume_a="sym", check_finite=True)
    except (scipy.linalg.LinAlgError, scipy.linalg.LinAlgWarning, ValueError) as error:
        raise ChargeEquilibrationError(input_id, f"charge equilibration system is singular: {error}") from error
    charges = solution[:n]
    return charges + (total_charge - charges.sum()) / n  # remove rounding drift from neutrality


@cache
def _default_charge_center(element: str) -> int:
    """A metal's smallest positive common oxidation state (pymatgen), else 0."""
    from pymatgen.core.periodic_table import Element

    data = Element(element)
    positive = [s for s in data.common_oxidation_states if s > 0]
    return min(positive) if data.is_metal and positive else 0


@cache
def _element_parameters(element: str, center: int, hydrogen_ea: float) -> tuple[float, float] | None:
    """``(chi, J)`` in eV from ionization energies around the charge centre, or None if not tabulated."""
    if element == "H":
        from pymatgen.core.periodic_table import Element

        ip1 = float(Element("H").ionization_energies[0])
        return 0.5 * (ip1 + hydrogen_ea), ip1 - hydrogen_ea
    potentials = _ionization_ladder(element)
    if center + 1 >= len(potentials) or potentials[center] is None or potentials[center + 1] is None:
        return None
    low, high = potentials[center], potentials[center + 1]
    hardness = high - low
    return 0.5 * (high + low) - center * hardness, hardness


@cache
def _ionization_ladder(element: str) -> tuple[float | None, ...]:
    """``(EA, IP1, IP2, ...)`` in eV from pymatgen's element data."""
    from pymatgen.core.periodic_table import Element

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns for every property it lacks
        try:
            data = Element(element)
            ionizations = list(data.ionization_energies or [])
            affinity = data.electron_affinity
        except (ValueError, KeyError, AttributeError):  # pymatgen raises KeyError for an untabulated property
            affinity = None
    affinity = None if affinity is None or not math.isfinite(float(affinity)) else float(affinity)
    if affinity is not None and affinity < UNBOUND_ANION_EA:
        affinity = 0.0
    return (affinity, *[None if v is None else float(v) for v in ionizations])


def eqeq_charges(crystal: Crystal, **options) -> np.ndarray:
    """EQeq charges of ``crystal`` with the paper's parameters (``options`` override ``EQeq``'s)."""
    return EQeq(**options)(crystal)
