"""Element symbols and element feature tables for crystal graphs.

Two sources of per-element feature vectors, both returned as an ``ElementTable`` indexed by
atomic number:

* ``cgcnn_property_table``: CGCNN-style features built from element properties (Xie & Grossman,
  Phys. Rev. Lett. 120, 145301 (2018), Table I): group, period, block and valence electrons
  one-hot; electronegativity, covalent radius, first ionization energy, electron affinity and
  molar volume each in 10 equal-width bins, plus an ``unknown`` slot where a property is not
  tabulated. Properties come from pymatgen (covalent radii from RDKit, which has them).
* ``read_atom_init``: CGCNN's own ``atom_init.json`` (``{"Z": [features...]}``).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from molgnn.chem.errors import InvalidInputError, UnknownElementError

SYMBOLS = (
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl",
    "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In",
    "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb",
    "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl",
    "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk",
    "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh",
    "Fl", "Mc", "Lv", "Ts", "Og",
)  # fmt: skip
_NUMBERS = {s: z for z, s in enumerate(SYMBOLS, start=1)}
_NUMBERS.update({"D": 1, "T": 1})  # deuterium and tritium are hydrogen for a graph


def symbol(z: int) -> str:
    """Element symbol of atomic number ``z`` (``"*"`` for 0, the dummy atom)."""
    return SYMBOLS[z - 1] if 1 <= z <= len(SYMBOLS) else "*"


def is_element(element: str) -> bool:
    """Whether ``element`` is an element symbol (case-insensitive; ``D`` and ``T`` count as H)."""
    return element.strip().capitalize() in _NUMBERS


def atomic_number(element: str, input_id: object) -> int:
    """Atomic number of an element symbol (case-insensitive, ``D``/``T`` map to H).

    Raises:
        UnknownElementError: naming ``input_id`` when the symbol is not an element.
    """
    key = element.strip().capitalize()
    if key not in _NUMBERS:
        raise UnknownElementError(input_id, f"unknown element symbol {element!r}")
    return _NUMBERS[key]


@dataclass(frozen=True)
class ElementTable:
    """Per-element feature vectors: ``features[z]`` is the vector of atomic number ``z``.

    ``known[z]`` is False for elements the table has no vector for.
    """

    names: tuple[str, ...]
    features: np.ndarray  # [max_z + 1, F] float32
    known: np.ndarray  # [max_z + 1] bool

    def lookup(self, z: np.ndarray, input_id: object) -> np.ndarray:
        """Feature rows of atomic numbers ``z``; raises ``UnknownElementError`` naming the element."""
        inside = z < len(self.known)
        ok = inside.copy()
        ok[inside] = self.known[z[inside]]
        if not ok.all():
            missing = sorted({symbol(int(v)) for v in z[~ok]})
            raise UnknownElementError(input_id, f"no element features for {', '.join(missing)}")
        return self.features[z]


def _binned(values: list[float], bins: int, log: bool) -> tuple[np.ndarray, list[str]]:
    """One-hot of ``values`` in ``bins`` equal-width bins over their range, plus an unknown slot."""
    array = np.array([math.nan if v is None else float(v) for v in values])
    if log:
        with np.errstate(invalid="ignore", divide="ignore"):
            array = np.log(array)
    finite = np.isfinite(array)
    low, high = array[finite].min(), array[finite].max()
    index = np.full(len(array), bins)
    index[finite] = np.minimum(((array[finite] - low) / (high - low) * bins).astype(int), bins - 1)
    edges = np.linspace(low, high, bins + 1)
    fmt = (lambda v: f"{math.exp(v):.3g}") if log else (lambda v: f"{v:.3g}")
    labels = [f"[{fmt(a)},{fmt(b)})" for a, b in zip(edges[:-1], edges[1:])] + ["unknown"]
    return np.eye(bins + 1, dtype=np.float32)[index], labels


def cgcnn_property_table(max_z: int = 100, bins: int = 10) -> ElementTable:
    """CGCNN-style element features for atomic numbers ``1..max_z`` built from element properties."""
    from pymatgen.core.periodic_table import Element
    from rdkit import Chem

    periodic = Chem.GetPeriodicTable()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns for every property it lacks
        elements = [Element.from_Z(z) for z in range(1, max_z + 1)]
        groups = [e.group for e in elements]
        categorical = {
            "group": (groups, list(range(1, 19))),
            "period": ([e.row for e in elements], list(range(1, 8))),
            "block": ([e.block for e in elements], ["s", "p", "d", "f"]),
            # outer-shell electrons: s (+ d) for groups 1-12, s + p for groups 13-18
            "valence_electrons": ([g if g <= 12 else g - 10 for g in groups], list(range(1, 13))),
        }
        continuous = {
            "electronegativity": ([e.X for e in elements], False),
            "covalent_radius": ([periodic.GetRcovalent(z) for z in range(1, max_z + 1)], False),
            "first_ionization_energy": ([e.ionization_energy for e in elements], True),
            "electron_affinity": ([e.electron_affinity for e in elements], False),
            "molar_volume": ([_float_or_none(e.molar_volume) for e in elements], True),
        }
    blocks, names = [], []
    for name, (values, categories) in categorical.items():
        slot = {c: i for i, c in enumerate(categories)}
        index = [slot.get(v, len(categories)) for v in values]
        blocks.append(np.eye(len(categories) + 1, dtype=np.float32)[index])
        names += [f"{name}={c}" for c in categories] + [f"{name}=unknown"]
    for name, (values, log) in continuous.items():
        onehot, labels = _binned(values, bins, log)
        blocks.append(onehot)
        names += [f"{name}={label}" for label in labels]
    features = np.zeros((max_z + 1, len(names)), dtype=np.float32)
    features[1:] = np.concatenate(blocks, axis=1)
    known = np.ones(max_z + 1, dtype=bool)
    known[0] = False
    return ElementTable(tuple(names), features, known)


def _float_or_none(quantity) -> float | None:
    return None if quantity is None else float(quantity)


def read_atom_init(path: str | Path) -> ElementTable:
    """Read CGCNN's ``atom_init.json`` (atomic number -> feature list) into an ``ElementTable``.

    Raises:
        InvalidInputError: naming the file when it is not such a JSON object or rows differ in length.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
        rows = {int(z): np.asarray(v, dtype=np.float32) for z, v in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError) as error:
        raise InvalidInputError(path, f"not a CGCNN atom_init.json: {error}") from error
    widths = {len(v) for v in rows.values()}
    if len(widths) != 1 or min(rows) < 1:
        raise InvalidInputError(path, "atom_init.json rows must be atomic numbers >= 1 with equal lengths")
    width = widths.pop()
    features = np.zeros((max(rows) + 1, width), dtype=np.float32)
    known = np.zeros(max(rows) + 1, dtype=bool)
    for z, vector in rows.items():
        features[z] = vector
        known[z] = True
    return ElementTable(tuple(f"atom_init_{i}" for i in range(width)), features, known)
