"""Ewald summation of the Coulomb interaction of point charges in a periodic cell, as a matrix.

Charge equilibration needs the whole pair-potential matrix ``phi`` (the electrostatic energy of
charges ``q`` is ``q @ phi @ q / 2``), not the energy or forces of one set of charges that
pymatgen's ``EwaldSummation`` gives (its per-pair matrix is built by Python loops over images and
costs seconds for a 500-atom MOF). Here the real-space part is summed over pymatgen's
C neighbour list and the reciprocal part is a product of structure-factor matrices, both
vectorized with numpy (Ewald 1921; notation of Toukmaji & Board, Comput. Phys. Commun. 95, 73
(1996)):

    phi_ij = sum_n' erfc(alpha |r_ij + n|) / |r_ij + n|
           + (4 pi / V) sum_{k != 0} exp(-k^2 / (4 alpha^2)) / k^2 cos(k . r_ij)
           - delta_ij 2 alpha / sqrt(pi) - pi / (V alpha^2)

The last term is the neutralizing background; with it every element is independent of
``alpha`` and the energy of a neutral cell is the converged lattice sum. Units: 1/Å (multiply
by ``COULOMB_EV_ANGSTROM`` for eV with charges in e).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

from molgnn.chem.neighbors import periodic_neighbors

COULOMB_EV_ANGSTROM = 14.399645  # e^2 / (4 pi eps0) in eV Å
DEFAULT_TOLERANCE = 1e-7  # relative size of the neglected real- and reciprocal-space terms


def ewald_parameters(real_cutoff: float, tolerance: float = DEFAULT_TOLERANCE) -> tuple[float, float]:
    """Splitting ``alpha`` (1/Å) and reciprocal cutoff (1/Å) for a real-space cutoff (Å).

    Both sums are cut where their terms fall below ``tolerance`` (erfc(alpha r_c) ~ exp(-p)
    and exp(-k_c^2 / 4 alpha^2) = exp(-p) with p = -ln tolerance).
    """
    p = math.sqrt(-math.log(tolerance))
    alpha = p / real_cutoff
    return alpha, 2.0 * alpha * p


def reciprocal_vectors(lattice: np.ndarray, k_cutoff: float) -> np.ndarray:
    """Reciprocal lattice vectors ``k`` with ``0 < |k| <= k_cutoff``, one of each ``+-k`` pair, ``[K, 3]``."""
    recip = 2.0 * np.pi * np.linalg.inv(lattice).T  # rows b_i with a_i . b_j = 2 pi delta_ij
    bounds = [int(np.ceil(k_cutoff * np.linalg.norm(a) / (2.0 * np.pi))) for a in lattice]
    grids = np.meshgrid(*[np.arange(-b, b + 1) for b in bounds], indexing="ij")
    n = np.stack([g.ravel() for g in grids], axis=1)
    # keep one of each pair +-n: first non-zero component positive
    first = np.where(n[:, 0] != 0, n[:, 0], np.where(n[:, 1] != 0, n[:, 1], n[:, 2]))
    n = n[first > 0]
    k = n @ recip
    return k[np.einsum("ij,ij->i", k, k) <= k_cutoff**2]


def ewald_matrix(lattice: np.ndarray, frac: np.ndarray, real_cutoff: float = 12.0,
                 tolerance: float = DEFAULT_TOLERANCE, pairs: tuple | None = None) -> np.ndarray:
    """The ``[N, N]`` periodic Coulomb pair-potential matrix ``phi`` (1/Å), symmetric.

    ``phi[i, i]`` holds the interaction of atom ``i`` with its own periodic images (and the
    self-energy correction), so that ``q @ phi @ q / 2`` is the energy per cell. ``pairs``: the
    ``periodic_neighbors(lattice, frac, real_cutoff)`` result when the caller already has it.
    """
    lattice = np.asarray(lattice, dtype=np.float64)
    n_atoms = len(frac)
    volume = abs(np.linalg.det(lattice))
    alpha, k_cutoff = ewald_parameters(real_cutoff, tolerance)

    centers, neighbors, _, distances = pairs if pairs is not None else periodic_neighbors(lattice, frac, real_cutoff)
    phi = np.bincount(centers * n_atoms + neighbors, weights=erfc(alpha * distances) / distances,
                      minlength=n_atoms * n_atoms).reshape(n_atoms, n_atoms)

    k = reciprocal_vectors(lattice, k_cutoff)
    k2 = np.einsum("ij,ij->i", k, k)
    weights = (8.0 * np.pi / volume) * np.exp(-k2 / (4.0 * alpha**2)) / k2  # 2x: each k stands for +-k
    phase = (frac @ lattice) @ k.T  # [N, K]
    cos, sin = np.cos(phase), np.sin(phase)
    phi += (cos * weights) @ cos.T + (sin * weights) @ sin.T

    phi[np.diag_indices(n_atoms)] -= 2.0 * alpha / math.sqrt(math.pi)
    phi -= math.pi / (volume * alpha**2)
    return 0.5 * (phi + phi.T)  # exact symmetry (the neighbour list is symmetric up to rounding)


def ewald_energy(lattice: np.ndarray, frac: np.ndarray, charges: np.ndarray, real_cutoff: float = 12.0,
                 tolerance: float = DEFAULT_TOLERANCE) -> float:
    """Electrostatic energy per cell (eV) of point charges (e) in a periodic cell."""
    charges = np.asarray(charges, dtype=np.float64)
    phi = ewald_matrix(lattice, frac, real_cutoff, tolerance)
    return 0.5 * COULOMB_EV_ANGSTROM * float(charges @ phi @ charges)
