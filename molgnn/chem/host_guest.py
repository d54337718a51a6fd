"""Host-guest energies of CO2 in a rigid framework, by Widom insertions.

A rigid TraPPE CO2 molecule (``molgnn.chem.forcefield.CO2``) is inserted at random positions of the
cell, ``orientations`` times at each (the six axes of an icosahedron, turned by a random rotation
per position), ``insertions`` in all. Its energy is the sum over its three sites
and every framework atom (and periodic image) within ``cutoff`` of

* Lennard-Jones 12-6, UFF framework parameters mixed with the site's by Lorentz-Berthelot
  (``sigma = (sigma_i + sigma_j) / 2``, ``epsilon = sqrt(epsilon_i epsilon_j)``), truncated at the cutoff;
* Coulomb between the site charge and the framework's partial charges, as a damped, shifted
  real-space sum (Wolf et al., J. Chem. Phys. 110, 8254 (1999)):
  ``q_s q_j [erfc(alpha r) / r - erfc(alpha r_c) / r_c]``. The framework is made neutral first (its net
  charge, usually a rounding residue of the CIF's charges, is spread evenly over its atoms): with a
  neutral guest and a neutral host the damped sum converges to the Ewald energy as ``alpha r_c`` grows.

Positions where the carbon would sit inside an atom (closer than ``OVERLAP * sigma`` to any
framework atom) are not evaluated: their Boltzmann factor is below ``exp(-40)`` at room
temperature. They count as zero in every average, which is what keeps the cost to the pores.
The pair terms are summed in float32 (coordinates are differenced in float64 first), at a third of
the time of float64: on 20 crafted726 frameworks every negative energy was within 0.1 K of the
float64 sum (kT is 298 K) and the descriptors within 1e-4 relative.

From the energies ``U`` of the insertions (``f`` the fraction of random positions that were evaluated,
``A_p = -kT ln <exp(-U/kT)>_orientations`` the free energy of a position):

* Henry coefficient ``K_H = f <exp(-U/kT)> / (R T rho)``, mol/(kg Pa), reported as ``log10``
  (floored at ``HENRY_FLOOR``: a framework with no room for CO2 has ``K_H = 0``, and every other
  descriptor 0 too: where all positions repel, their Boltzmann averages describe no adsorption);
* heat of adsorption at infinite dilution ``Q = R T - <U exp(-U/kT)> / <exp(-U/kT)>``, kJ/mol,
  and the Boltzmann-weighted means of its Lennard-Jones and Coulomb parts;
* the lowest energy found;
* two histograms of ``A_p`` over fixed bins (kJ/mol, from ``lowest_bin`` to 0 in steps of
  ``bin_width``, the first open below): the pore volume per gram in each bin (cm3/g, the room that
  adsorbs at that energy) and the share of the Boltzmann weight in each bin (where the molecules
  sit at low loading). Averaging over orientations first keeps a good position from being counted
  as a poor one because of the one orientation it was tried in.

Insertions are seeded (``seed``), so a structure always gets the same descriptors; a supercell
gets the same values within sampling noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation
from scipy.special import erfc

from molgnn.chem.crystal import Crystal
from molgnn.chem.errors import DescriptorError
from molgnn.chem.forcefield import CO2, COULOMB_K_ANGSTROM, GAS_CONSTANT, density, uff_parameters
from molgnn.chem.neighbors import periodic_images
from molgnn.errors import ConfigError

OVERLAP = 0.75  # carbon closer than this many sigma to a framework atom: not evaluated (U > 40 kT)
HENRY_FLOOR = 1e-10  # mol/(kg Pa)
_CANDIDATE_BATCH = 8192
_MAX_CANDIDATES_PER_INSERTION = 100  # stop searching for room after this many tries per insertion
_GOLDEN = (1 + 5**0.5) / 2
_AXES = np.array([[0, 1, _GOLDEN], [0, 1, -_GOLDEN], [1, _GOLDEN, 0], [1, -_GOLDEN, 0], [_GOLDEN, 0, 1],
                  [-_GOLDEN, 0, 1]]) / np.sqrt(1 + _GOLDEN**2)  # the six axes through an icosahedron's vertices
_CENTRE_CHUNK = 32  # centres per block (memory: 32 * 6 orientations * ~1000 neighbours * 4 bytes per array)
_FAR = 1e6  # Å: where the padding atom sits


@dataclass(frozen=True)
class HostGuestEnergies:
    """CO2 host-guest descriptors of a crystal; call it on a ``Crystal`` for the vector of ``names``.

    Args:
        temperature: K.
        insertions: Widom insertions evaluated per structure.
        orientations: orientations tried at each position (1 to 6).
        cutoff: Lennard-Jones and Coulomb cutoff, Å.
        damping: ``alpha`` of the damped Coulomb sum, 1/Å.
        bin_width, lowest_bin: the energy histogram's bins, kJ/mol.
        seed: seed of the insertion positions and orientations.
    """

    temperature: float = 298.0
    insertions: int = 12000  # 3000 leave the Henry coefficient of narrow pores unconverged (benchmarks/co2.py)
    orientations: int = 6
    cutoff: float = 12.0
    damping: float = 0.2
    bin_width: float = 2.5
    lowest_bin: float = -30.0
    seed: int = 0

    def __post_init__(self):
        if not 1 <= self.orientations <= len(_AXES):
            raise ConfigError(f"orientations must be 1 to {len(_AXES)}, got {self.orientations}")
        if not (self.temperature > 0 and self.insertions >= 1 and self.cutoff > 0 and self.damping >= 0
                and self.bin_width > 0 and self.lowest_bin < 0):
            raise ConfigError("temperature, insertions, cutoff, bin_width must be > 0, damping >= 0, lowest_bin < 0")

    @cached_property
    def bin_edges(self) -> np.ndarray:
        """Upper edges of the energy bins, kJ/mol (the first bin is everything up to ``lowest_bin``)."""
        count = int(round(-self.lowest_bin / self.bin_width))
        return self.lowest_bin + self.bin_width * np.arange(count + 1)

    @property
    def names(self) -> tuple[str, ...]:
        bins = [f"{low:g}_{high:g}" for low, high in zip(np.r_[-np.inf, self.bin_edges[:-1]], self.bin_edges)]
        return ("log10_henry", "heat_of_adsorption", "boltzmann_lj", "boltzmann_coulomb", "min_energy",
                *(f"volume_{b}" for b in bins), *(f"weight_{b}" for b in bins))

    @property
    def units(self) -> tuple[str, ...]:
        bins = len(self.bin_edges)
        return ("log10 mol/(kg Pa)", "kJ/mol", "kJ/mol", "kJ/mol", "kJ/mol", *["cm3/g"] * bins, *["1"] * bins)

    def __call__(self, crystal: Crystal) -> np.ndarray:
        values = self.analyse(crystal)
        return np.concatenate([[values[k] for k in self.names[:5]], values["volume"], values["weight"]])

    def analyse(self, crystal: Crystal) -> dict:
        """Descriptors of ``crystal`` (Coulomb from ``crystal.charges``; none: Lennard-Jones only)."""
        host = _Host(crystal, self.cutoff, self.damping)
        positions, axes, fraction = self._insertions(host, -(-self.insertions // self.orientations))
        lj, coulomb = host.energies(positions, axes)
        return self._summary(lj, coulomb, fraction, host.density)

    def _insertions(self, host: _Host, count: int) -> tuple[np.ndarray, np.ndarray, float]:
        """``count`` seeded random positions clear of the atoms ``[P, 3]``, their ``orientations`` axes ``[P, O, 3]``
        (an icosahedron's, turned at random), and the fraction of tries that were clear."""
        rng = np.random.default_rng(self.seed)
        positions, fraction = host.open_positions(rng, count)
        turns = Rotation.random(len(positions), random_state=rng).as_matrix()  # [P, 3, 3]
        return positions, np.einsum("pij,oj->poi", turns, _AXES[: self.orientations]), fraction

    def energies(self, crystal: Crystal, centres: np.ndarray, axes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lennard-Jones and Coulomb energies (K) of CO2 molecules at ``centres`` along unit ``axes`` (Cartesian, Å)."""
        lj, coulomb = _Host(crystal, self.cutoff, self.damping).energies(np.atleast_2d(centres), np.atleast_2d(axes)[:, None, :])
        return lj[:, 0], coulomb[:, 0]

    def favourable_insertions(self, crystal: Crystal, count: int, tries: int = 600) -> tuple[np.ndarray, np.ndarray]:
        """Where CO2 binds most: of ``tries`` random insertions (each in its best of ``orientations``, Coulomb from
        ``crystal.charges``), the ``count`` of lowest energy, as ``(centres [count, 3], axes [count, 3])``; seeded."""
        return self._favourable(_Host(crystal, self.cutoff, self.damping), count, tries)

    def coulomb_design(self, crystal: Crystal, centres: np.ndarray, axes: np.ndarray) -> np.ndarray:
        """``[P, N]``, K per e: the Coulomb energy of CO2 at ``centres [P, 3]`` along ``axes [P, 3]`` is this matrix
        times the framework's charges (any charges: it includes making them neutral, as every energy here does).

        The energy is linear in the charges, so a charge model can be fit to energies (``molgnn.chem.charge_model``).
        """
        return self._design(_Host(crystal, self.cutoff, self.damping), len(crystal), centres, axes)

    def favourable_coulomb_design(self, crystal: Crystal, count: int, tries: int = 600) -> np.ndarray:
        """``coulomb_design`` at the ``favourable_insertions``, with the framework prepared once."""
        host = _Host(crystal, self.cutoff, self.damping)
        return self._design(host, len(crystal), *self._favourable(host, count, tries))

    def _favourable(self, host: _Host, count: int, tries: int) -> tuple[np.ndarray, np.ndarray]:
        positions, axes, _ = self._insertions(host, tries)
        energy = np.add(*host.energies(positions, axes))  # [P, O]
        best = energy.argmin(axis=1)
        order = np.argsort(energy[np.arange(len(positions)), best], kind="stable")[:count]
        return positions[order], axes[order, best[order]]

    def _design(self, host: _Host, atoms: int, centres: np.ndarray, axes: np.ndarray) -> np.ndarray:
        centres, axes = np.atleast_2d(centres), np.atleast_2d(axes)
        design = np.zeros((len(centres), atoms))
        for site, offset in zip(CO2.sites, CO2.offsets):
            if site.charge == 0.0:
                continue
            points = centres + offset * axes
            pairs = cKDTree(points).sparse_distance_matrix(host.tree, self.cutoff, output_type="ndarray")
            distance = pairs["v"]
            kernel = erfc(self.damping * distance) / distance - host.coulomb_shift
            np.add.at(design, (pairs["i"], host.atom[pairs["j"]]), site.charge * COULOMB_K_ANGSTROM * kernel)
        return design - design.mean(axis=1, keepdims=True)  # B (q - mean q) = (B - row mean) q

    def _summary(self, lj: np.ndarray, coulomb: np.ndarray, fraction: float, rho: float) -> dict:
        """The descriptors from ``[positions, orientations]`` energies (K)."""
        bins = len(self.bin_edges)
        no_room = {"log10_henry": np.log10(HENRY_FLOOR), "heat_of_adsorption": 0.0, "boltzmann_lj": 0.0,
                   "boltzmann_coulomb": 0.0, "min_energy": 0.0, "volume": np.zeros(bins), "weight": np.zeros(bins)}
        if lj.size == 0:  # no position clear of the atoms
            return no_room
        energy = lj + coulomb
        boltzmann = np.exp(-np.clip(energy, -700.0 * self.temperature, 700.0 * self.temperature) / self.temperature)
        total = boltzmann.sum()
        henry = fraction * boltzmann.mean() / (GAS_CONSTANT * 1e3 * self.temperature * rho * 1e3)  # mol/(kg Pa)
        if not henry > HENRY_FLOOR:  # room only for repulsive positions: their "heat" (up to -1e5 kJ/mol) is no adsorption
            return no_room
        position_weight = boltzmann.mean(axis=1)
        free_energy = -self.temperature * np.log(np.maximum(position_weight, 1e-300)) * GAS_CONSTANT  # kJ/mol
        which = np.searchsorted(self.bin_edges, free_energy, side="left")  # bin k holds (edge[k-1], edge[k]]
        inside = which < bins
        volume = np.bincount(which[inside], minlength=bins) / len(free_energy) * fraction / rho
        share = np.bincount(which[inside], weights=position_weight[inside], minlength=bins) / position_weight.sum() \
            if total > 0 else np.zeros(bins)
        average = (lambda u: float((boltzmann * u).sum() / total) * GAS_CONSTANT) if total > 0 else (lambda u: 0.0)
        return {
            "log10_henry": float(np.log10(max(henry, HENRY_FLOOR))),
            "heat_of_adsorption": GAS_CONSTANT * self.temperature - average(energy),
            "boltzmann_lj": average(lj),
            "boltzmann_coulomb": average(coulomb),
            "min_energy": float(energy.min() * GAS_CONSTANT),
            "volume": volume,
            "weight": share,
        }


class _Host:
    """A framework prepared for CO2 insertions: images within the cutoff, mixed site parameters."""

    def __init__(self, crystal: Crystal, cutoff: float, damping: float):
        lattice = np.asarray(crystal.lattice, dtype=np.float64)
        volume = abs(float(np.linalg.det(lattice)))
        if len(crystal) == 0 or not volume > 0:
            raise DescriptorError(crystal.id, "no atoms or a cell without volume")
        sigma, epsilon = uff_parameters(crystal.numbers, crystal.id)
        charges = np.zeros(len(crystal)) if crystal.charges is None else np.asarray(crystal.charges, dtype=np.float64)
        if not np.isfinite(charges).all():
            raise DescriptorError(crystal.id, "partial charges that are not finite numbers")
        charges = charges - charges.mean()  # a neutral framework
        self.lattice, self.cutoff, self.damping = lattice, cutoff, damping
        self.density = density(crystal.numbers, volume)
        images, self.atom = periodic_images(lattice, crystal.frac, cutoff)
        self.tree = cKDTree(images)
        self.images = torch.as_tensor(np.vstack([images, np.full(3, _FAR)]))  # [M + 1, 3], float64: the last pads
        sites = CO2.sites
        self.sigma = 0.5 * (np.array([s.sigma for s in sites])[:, None] + sigma[None, self.atom])  # [3, M]
        epsilon = np.sqrt(np.array([s.epsilon for s in sites])[:, None] * epsilon[None, self.atom])
        charge_product = np.array([s.charge for s in sites])[:, None] * charges[None, self.atom] * COULOMB_K_ANGSTROM

        def padded(values: np.ndarray) -> torch.Tensor:  # [3, M + 1] float32, the far atom without parameters
            return torch.as_tensor(np.hstack([values, np.zeros((len(values), 1))]), dtype=torch.float32)

        self.sigma2, self.epsilon4, self.charge_product = padded(self.sigma**2), padded(4.0 * epsilon), padded(charge_product)
        self.coulomb_shift = float(erfc(damping * cutoff) / cutoff)
        self.charged = bool(np.any(charges))

    def open_positions(self, rng, wanted: int) -> tuple[np.ndarray, float]:
        """Random positions where the carbon overlaps no atom, and the fraction of tries that were."""
        carbon_sigma = self.sigma[1]
        kept, found, tries = [], 0, 0
        while found < wanted and tries < _MAX_CANDIDATES_PER_INSERTION * wanted:
            candidates = rng.random((_CANDIDATE_BATCH, 3)) @ self.lattice
            distance, index = self.tree.query(candidates, k=4)
            clear = (distance / carbon_sigma[np.minimum(index, len(carbon_sigma) - 1)]).min(axis=1) > OVERLAP
            kept.append(candidates[clear])
            found += int(clear.sum())
            tries += _CANDIDATE_BATCH
        return np.concatenate(kept)[:wanted], found / tries

    def energies(self, centres: np.ndarray, axes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Energies (K), ``[P, O]`` each, of the guest at ``centres [P, 3]`` along ``axes [P, O, 3]``.

        The framework atoms within ``cutoff`` plus the guest's half length of each centre are found
        once (``_CENTRE_CHUNK`` centres at a time, padded to a rectangle with a far, parameterless
        atom); every site of every orientation is then a dense ``[centres, orientations, neighbours]``
        block of float32 arithmetic in place. A site at the centre (CO2's carbon) is the same point in
        every orientation: computed once per centre.
        """
        shape = axes.shape[:2]
        lj, coulomb = np.zeros(shape), np.zeros(shape)
        reach = self.cutoff + max(abs(offset) for offset in CO2.offsets)
        scratch = _Scratch()
        for start in range(0, len(centres), _CENTRE_CHUNK):
            part = slice(start, start + _CENTRE_CHUNK)
            neighbours = torch.as_tensor(self._neighbours(centres[part], reach))  # [n, K]
            relative = (self.images[neighbours] - torch.as_tensor(centres[part])[:, None, :]).float()  # [n, K, 3]
            squared = (relative * relative).sum(-1)[:, None, :]  # [n, 1, K]
            directions = torch.as_tensor(axes[part], dtype=torch.float32)  # [n, O, 3]
            for site, offset in enumerate(CO2.offsets):
                if offset == 0.0:
                    distance2 = squared.clone()
                else:
                    arm = float(offset) * directions
                    distance2 = torch.baddbmm(squared + (arm * arm).sum(-1, keepdim=True), arm, relative.transpose(1, 2), alpha=-2)
                site_lj, site_coulomb = self._pair_sums(distance2, site, neighbours, scratch)
                lj[part] += site_lj.double().numpy()  # [n, 1] broadcasts over orientations
                coulomb[part] += site_coulomb.double().numpy()
        return lj, coulomb

    def _neighbours(self, centres: np.ndarray, reach: float) -> np.ndarray:
        """``[n, K]`` indices of the images within ``reach`` of each centre, padded with the far atom."""
        pairs = cKDTree(centres).sparse_distance_matrix(self.tree, reach, output_type="ndarray")
        order = np.argsort(pairs["i"].astype(np.int16), kind="stable")  # a radix sort: fewer than 2**15 centres
        which, image = pairs["i"][order], pairs["j"][order]
        counts = np.bincount(which, minlength=len(centres))
        column = np.arange(len(which)) - np.repeat(np.cumsum(counts) - counts, counts)
        table = np.full((len(centres), max(int(counts.max(initial=0)), 1)), len(self.images) - 1)
        table[which, column] = image
        return table

    def _pair_sums(self, distance2: torch.Tensor, site: int, neighbours: torch.Tensor, scratch: _Scratch):
        """Lennard-Jones and Coulomb energies (K), ``[n, rows]``, of guest site ``site`` from its squared
        distances ``[n, rows, K]`` to ``neighbours [n, K]`` (overwritten)."""
        inside, work, root = scratch(distance2.shape)
        cutoff2 = self.cutoff ** 2
        distance2.clamp_(0.01, cutoff2)
        torch.sub(cutoff2, distance2, out=inside).sign_()  # 1 within the cutoff, 0 beyond
        if self.charged:
            torch.sqrt(distance2, out=root)
            torch.mul(root, self.damping, out=work).erfc_().div_(root).sub_(self.coulomb_shift)
            coulomb = work.mul_(self.charge_product[site][neighbours][:, None, :]).mul_(inside).sum(-1)
        else:
            coulomb = torch.zeros(distance2.shape[:2], dtype=torch.float32)
        sr6 = distance2.reciprocal_().mul_(self.sigma2[site][neighbours][:, None, :]).pow_(3)
        lj = torch.mul(sr6, sr6, out=work).sub_(sr6).mul_(self.epsilon4[site][neighbours][:, None, :]).mul_(inside).sum(-1)
        return lj, coulomb


class _Scratch:
    """Three float32 work arrays, grown on demand and reused: fresh large arrays for every block would cost
    more in page faults than the arithmetic."""

    def __init__(self):
        self.buffers = (torch.empty(0, dtype=torch.float32),) * 3

    def __call__(self, shape) -> tuple[torch.Tensor, ...]:
        size = math.prod(shape)
        if self.buffers[0].numel() < size:
            self.buffers = tuple(torch.empty(size, dtype=torch.float32) for _ in range(3))
        return tuple(buffer[:size].view(shape) for buffer in self.buffers)
