"""Per-element tables for host-guest physics: UFF Lennard-Jones parameters, zeo++ radii, masses.

* UFF (Rappé et al., J. Am. Chem. Soc. 114, 10024 (1992), Table 1): the van der Waals distance
  ``x_i`` (the minimum of the Lennard-Jones pair, Å) and well depth ``D_i`` (kcal/mol) of each
  element (the element's first atom type; UFF's non-bonded terms do not depend on hybridization).
  As Lennard-Jones 12-6: ``sigma = x / 2**(1/6)``, ``epsilon / k_B = D / R``. UFF with
  Lorentz-Berthelot mixing is the framework force field of the crafted726 GCMC simulations.
* zeo++'s default atomic radii (Willems et al., Micropor. Mesopor. Mat. 149, 134 (2012); the table
  of its ``networkinfo`` module: CCDC van der Waals radii, 2.0 Å for elements it does not list),
  so that pore geometry is measured on the same spheres as zeo++.
* TraPPE CO2 (Potoff & Siepmann, AIChE J. 47, 1676 (2001)): rigid, linear, three charged
  Lennard-Jones sites, C-O 1.16 Å.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from molgnn.chem.elements import SYMBOLS, symbol
from molgnn.chem.errors import ForceFieldError

KCAL_PER_MOL_IN_K = 503.2195  # 1 kcal/mol / R, K
GAS_CONSTANT = 8.314462618e-3  # kJ/(mol K)
COULOMB_K_ANGSTROM = 167101.08  # e^2 / (4 pi eps0 k_B), K Å
AVOGADRO = 6.02214076e23

# symbol: (x_i Å, D_i kcal/mol), Rappé et al. Table 1
_UFF = {
    "H": (2.886, 0.044), "He": (2.362, 0.056), "Li": (2.451, 0.025), "Be": (2.745, 0.085), "B": (4.083, 0.180),
    "C": (3.851, 0.105), "N": (3.660, 0.069), "O": (3.500, 0.060), "F": (3.364, 0.050), "Ne": (3.243, 0.042),
    "Na": (2.983, 0.030), "Mg": (3.021, 0.111), "Al": (4.499, 0.505), "Si": (4.295, 0.402), "P": (4.147, 0.305),
    "S": (4.035, 0.274), "Cl": (3.947, 0.227), "Ar": (3.868, 0.185), "K": (3.812, 0.035), "Ca": (3.399, 0.238),
    "Sc": (3.295, 0.019), "Ti": (3.175, 0.017), "V": (3.144, 0.016), "Cr": (3.023, 0.015), "Mn": (2.961, 0.013),
    "Fe": (2.912, 0.013), "Co": (2.872, 0.014), "Ni": (2.834, 0.015), "Cu": (3.495, 0.005), "Zn": (2.763, 0.124),
    "Ga": (4.383, 0.415), "Ge": (4.280, 0.379), "As": (4.230, 0.309), "Se": (4.205, 0.291), "Br": (4.189, 0.251),
    "Kr": (4.141, 0.220), "Rb": (4.114, 0.040), "Sr": (3.641, 0.235), "Y": (3.345, 0.072), "Zr": (3.124, 0.069),
    "Nb": (3.165, 0.059), "Mo": (3.052, 0.059), "Tc": (2.998, 0.048), "Ru": (2.963, 0.056), "Rh": (2.929, 0.053),
    "Pd": (2.899, 0.048), "Ag": (3.148, 0.036), "Cd": (2.848, 0.228), "In": (4.463, 0.599), "Sn": (4.392, 0.567),
    "Sb": (4.420, 0.449), "Te": (4.470, 0.398), "I": (4.500, 0.339), "Xe": (4.404, 0.332), "Cs": (4.517, 0.045),
    "Ba": (3.703, 0.364), "La": (3.522, 0.017), "Ce": (3.556, 0.013), "Pr": (3.606, 0.010), "Nd": (3.575, 0.010),
    "Pm": (3.547, 0.009), "Sm": (3.520, 0.008), "Eu": (3.493, 0.008), "Gd": (3.368, 0.009), "Tb": (3.451, 0.007),
    "Dy": (3.428, 0.007), "Ho": (3.409, 0.007), "Er": (3.391, 0.007), "Tm": (3.374, 0.006), "Yb": (3.355, 0.228),
    "Lu": (3.640, 0.041), "Hf": (3.141, 0.072), "Ta": (3.170, 0.081), "W": (3.069, 0.067), "Re": (2.954, 0.066),
    "Os": (3.120, 0.037), "Ir": (2.840, 0.073), "Pt": (2.754, 0.080), "Au": (3.293, 0.039), "Hg": (2.705, 0.385),
    "Tl": (4.347, 0.680), "Pb": (4.297, 0.663), "Bi": (4.370, 0.518), "Po": (4.709, 0.325), "At": (4.750, 0.284),
    "Rn": (4.765, 0.248), "Fr": (4.365, 0.050), "Ra": (3.677, 0.404), "Ac": (3.478, 0.033), "Th": (3.396, 0.026),
    "Pa": (3.424, 0.022), "U": (3.395, 0.022), "Np": (3.424, 0.019), "Pu": (3.424, 0.016), "Am": (3.381, 0.014),
    "Cm": (3.326, 0.013), "Bk": (3.339, 0.013), "Cf": (3.313, 0.013), "Es": (3.299, 0.012), "Fm": (3.286, 0.012),
    "Md": (3.274, 0.011), "No": (3.248, 0.011), "Lr": (3.236, 0.011),
}  # fmt: skip

_ZEO_RADII = {
    "H": 1.09, "He": 1.4, "Li": 1.82, "C": 1.7, "N": 1.55, "O": 1.52, "F": 1.47, "Ne": 1.54, "Na": 2.27,
    "Mg": 1.73, "Si": 2.1, "P": 1.8, "S": 1.8, "Cl": 1.75, "Ar": 1.88, "K": 2.75, "Ni": 1.63, "Cu": 1.4,
    "Zn": 1.39, "Ga": 1.87, "As": 1.85, "Se": 1.9, "Br": 1.85, "Kr": 2.02, "Pd": 1.63, "Ag": 1.72, "Cd": 1.58,
    "In": 1.93, "Sn": 2.17, "Te": 2.06, "I": 1.98, "Xe": 2.16, "Pt": 1.72, "Au": 1.66, "Hg": 1.55, "Tl": 1.96,
    "Pb": 2.02, "U": 1.86,
}  # fmt: skip
ZEO_DEFAULT_RADIUS = 2.0


@dataclass(frozen=True)
class Site:
    """One interaction site of a rigid guest: Lennard-Jones ``sigma`` (Å), ``epsilon`` (K), charge (e)."""

    name: str
    sigma: float
    epsilon: float
    charge: float


@dataclass(frozen=True)
class LinearGuest:
    """A rigid linear guest: ``sites`` at signed distances ``offsets`` (Å) from its centre along its axis."""

    name: str
    sites: tuple[Site, ...]
    offsets: tuple[float, ...]
    molar_mass: float  # g/mol


CO2 = LinearGuest(
    "CO2",
    sites=(Site("O_co2", 3.05, 79.0, -0.35), Site("C_co2", 2.80, 27.0, 0.70), Site("O_co2", 3.05, 79.0, -0.35)),
    offsets=(-1.16, 0.0, 1.16),
    molar_mass=44.01,
)


@cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from pymatgen.core.periodic_table import Element

    size = len(SYMBOLS) + 1
    sigma, epsilon = np.full(size, np.nan), np.full(size, np.nan)
    radius, mass = np.full(size, ZEO_DEFAULT_RADIUS), np.full(size, np.nan)
    for z, element in enumerate(SYMBOLS, start=1):
        if element in _UFF:
            x, depth = _UFF[element]
            sigma[z], epsilon[z] = x / 2 ** (1 / 6), depth * KCAL_PER_MOL_IN_K
        radius[z] = _ZEO_RADII.get(element, ZEO_DEFAULT_RADIUS)
        mass[z] = float(Element(element).atomic_mass) if z <= 103 else np.nan
    for table in (sigma, epsilon, radius, mass):
        table.flags.writeable = False
    return sigma, epsilon, radius, mass


def uff_parameters(numbers: np.ndarray, input_id: object) -> tuple[np.ndarray, np.ndarray]:
    """UFF ``(sigma Å, epsilon K)`` per atom; an element UFF does not parametrize raises ``ForceFieldError``."""
    sigma, epsilon, _, _ = _tables()
    numbers = np.asarray(numbers)
    missing = sorted({int(z) for z in numbers[np.isnan(sigma[numbers])]})
    if missing:
        raise ForceFieldError(input_id, f"no UFF Lennard-Jones parameters for {', '.join(symbol(z) for z in missing)}")
    return sigma[numbers], epsilon[numbers]


def zeo_radii(numbers: np.ndarray) -> np.ndarray:
    """zeo++'s default radius (Å) of each atom."""
    return _tables()[2][np.asarray(numbers)]


def framework_mass(numbers: np.ndarray) -> float:
    """Mass of the atoms, g/mol (per cell when ``numbers`` are a cell's atoms)."""
    return float(_tables()[3][np.asarray(numbers)].sum())


def density(numbers: np.ndarray, volume: float) -> float:
    """Framework density, g/cm3, of ``numbers`` in ``volume`` Å^3."""
    return framework_mass(numbers) / AVOGADRO / (volume * 1e-24)
