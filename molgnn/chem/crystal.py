"""Crystal structures from CIF files or pymatgen ``Structure`` objects.

CIF files are read with gemmi's C++ CIF parser (about a millisecond for a 500-atom MOF, where
pymatgen's ``CifParser`` takes hundreds): the ``_atom_site`` loop, including the partial-charge
column ``_atom_site_charge``, is read directly; symmetry operations come from the file's
symop list or, when it has none, from its space-group name; each asymmetric site is expanded by
every operation, wrapped into the cell, and its images closer than ``SAME_SITE_TOLERANCE`` are
merged, so the charge of each expanded atom is that of its asymmetric site. A file that gemmi
refuses only because a single-tag value holds spaces without quotes (``_symmetry_space_group_name_H-M
P 1``, as ASE writes it; a third of CoRE MOF 2019-FSR) is read again with those values quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import gemmi
import numpy as np

from molgnn.chem.elements import atomic_number, is_element, symbol
from molgnn.chem.errors import InvalidStructureError, PartialOccupancyError

SAME_SITE_TOLERANCE = 0.4  # Å: symmetry images of one site closer than this are one atom (as gemmi)
OCCUPANCY_TOLERANCE = 1e-3
MIN_VOLUME_PER_ATOM = 1.0  # Å³; diamond, among the densest solids, holds 5.7
MIN_LATTICE_VECTOR = 0.5  # Å
_CELL_TAGS = ("_cell_length_a", "_cell_length_b", "_cell_length_c",
              "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma")
_SYMOP_TAGS = ("_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz")
_SPACE_GROUP_TAGS = ("_space_group_name_H-M_alt", "_symmetry_space_group_name_H-M",
                     "_space_group_name_Hall", "_symmetry_space_group_name_Hall")
# ``_tag value with spaces``: a tag, then an unquoted value of several words (no quotes, no comment)
_BYTE_ORDER_MARK = "\ufeff"
_FORMULA_TERM = re.compile(r"([A-Z][a-z]?)(\d+(?:\.\d+)?|\.\d+)?")  # "Zn16", "H", "C6.5" in a formula
_UNQUOTED_VALUE = re.compile(r"^([ \t]*_\S+[ \t]+)([^'\"\s;#_][^'\"#\n]*?[ \t][^'\"#\n]*?)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Crystal:
    """A periodic structure as arrays.

    Attributes:
        id: the input's id (file stem, or what the caller named it).
        lattice: ``[3, 3]`` lattice vectors as rows, Å.
        frac: ``[N, 3]`` fractional coordinates in ``[0, 1)``.
        numbers: ``[N]`` atomic numbers.
        charges: ``[N]`` partial charges (e), or None when the source has none.
    """

    id: str
    lattice: np.ndarray
    frac: np.ndarray
    numbers: np.ndarray
    charges: np.ndarray | None = None

    @property
    def cart(self) -> np.ndarray:
        return self.frac @ self.lattice

    def __len__(self) -> int:
        return len(self.numbers)


class CifText(str):
    """The content of a CIF file held in memory (e.g. an archive member), to tell it from a path."""


def read_crystal(source, input_id: object = None) -> Crystal:
    """A ``Crystal`` from any crystal record: a CIF path, a ``CifText``, a pymatgen ``Structure`` or a ``Crystal``.

    Raises ``InvalidStructureError`` (or another ``InvalidInputError``) naming ``input_id``, also for
    a record of another type.
    """
    if isinstance(source, Crystal):
        return source
    if isinstance(source, CifText):
        return parse_cif_text(source, "cif" if input_id is None else input_id)
    if isinstance(source, (str, Path)):
        return read_cif(source, input_id)
    if is_structure(source):
        return crystal_from_structure(source, "structure" if input_id is None else input_id)
    raise InvalidStructureError(type(source).__name__ if input_id is None else input_id,
                                f"cannot read a {type(source).__name__} as a crystal; give a CIF path, a CifText, "
                                "a pymatgen Structure or a Crystal")


def is_structure(source: object) -> bool:
    """Whether ``source`` looks like a pymatgen ``Structure`` (checked without importing pymatgen)."""
    return hasattr(source, "lattice") and hasattr(source, "frac_coords")


def is_crystal_record(source: object) -> bool:
    """Whether ``read_crystal`` takes ``source``: a ``Crystal``, a ``CifText``, a ``Path``, a path ending in
    ``.cif`` or a pymatgen ``Structure``."""
    return (isinstance(source, (Crystal, CifText, Path)) or is_structure(source)
            or isinstance(source, str) and source.lower().endswith(".cif"))


def read_cif(path: str | Path, input_id: object = None) -> Crystal:
    """Read the first structure of a CIF file.

    Raises:
        InvalidStructureError: unreadable, empty or truncated file, no cell, no atoms, bad numbers.
        UnknownElementError: a site whose element is not in the periodic table.
        PartialOccupancyError: a site with occupancy below one.
    """
    path = Path(path)
    input_id = path.stem if input_id is None else input_id
    try:
        document = gemmi.cif.read_file(str(path))
    except (OSError, RuntimeError, ValueError, IndexError) as error:
        document = _read_again(path.read_text(errors="replace"), error) if not isinstance(error, OSError) else None
        if document is None:
            raise InvalidStructureError(input_id, f"cannot read CIF {path}: {error}") from error
    return crystal_from_cif_document(document, input_id)


def parse_cif_text(text: str, input_id: object) -> Crystal:
    """Like ``read_cif`` for CIF content held in a string."""
    try:
        document = gemmi.cif.read_string(text)
    except (RuntimeError, ValueError, IndexError) as error:
        document = _read_again(text, error)
        if document is None:
            raise InvalidStructureError(input_id, f"not a valid CIF: {error}") from error
    return crystal_from_cif_document(document, input_id)


def _read_again(text: str, error: Exception):
    """The document of a CIF that gemmi refused for a reason a writer's habit explains, or None.

    A leading UTF-8 byte-order mark (Windows editors write one) is dropped; unquoted multi-word tag
    values are quoted.
    """
    if text.startswith(_BYTE_ORDER_MARK):
        text = text[len(_BYTE_ORDER_MARK):]
        try:
            return gemmi.cif.read_string(text)
        except (RuntimeError, ValueError, IndexError) as again:
            error = again
    return _read_quoted(text, error)


def _read_quoted(text: str, error: Exception):
    """The document of ``text`` with its unquoted multi-word tag values quoted, or None if that does not help."""
    if "parse error" not in str(error):
        return None
    quoted, count = _UNQUOTED_VALUE.subn(lambda match: f"{match[1]}'{match[2]}'", text)
    if count == 0:
        return None
    try:
        return gemmi.cif.read_string(quoted)
    except (RuntimeError, ValueError, IndexError):
        return None


def crystal_from_cif_document(document, input_id: object) -> Crystal:
    blocks = [block for block in document if block.find_value("_atom_site_fract_x") is not None
              or block.find_loop("_atom_site_fract_x")]
    if not blocks:
        raise InvalidStructureError(input_id, "CIF has no _atom_site_fract_x data (empty or truncated file?)")
    if len(blocks) > 1:  # which one is meant cannot be known: taking the first would be a guess
        names = ", ".join(repr(block.name) for block in blocks[:5])
        raise InvalidStructureError(input_id, f"CIF holds {len(blocks)} structures (data blocks {names}"
                                              f"{', ...' if len(blocks) > 5 else ''}); give one structure per file")
    block = blocks[0]
    lattice = _lattice(block, input_id)
    table = block.find("_atom_site_", ["fract_x", "fract_y", "fract_z", "?label", "?type_symbol",
                                       "?occupancy", "?charge"])
    if len(table) == 0:
        raise InvalidStructureError(input_id, "structure has no atoms")
    frac = np.column_stack([_numbers(table.column(i), f"_atom_site_fract_{'xyz'[i]}", input_id) for i in range(3)])
    labels = list(table.column(3)) if table.has_column(3) else [f"site{i + 1}" for i in range(len(table))]
    symbols = list(table.column(4)) if table.has_column(4) else labels
    numbers = np.array([atomic_number(_element_part(s), input_id) for s in symbols], dtype=np.int64)
    if table.has_column(5):
        occupancy = _numbers(table.column(5), "_atom_site_occupancy", input_id, missing=1.0)
        partial = np.flatnonzero(occupancy < 1 - OCCUPANCY_TOLERANCE)
        if len(partial):
            shown = ", ".join(f"{labels[i]} ({occupancy[i]:g})" for i in partial[:5])
            raise PartialOccupancyError(input_id, f"{len(partial)} partially occupied site(s): {shown}")
    charges = _numbers(table.column(6), "_atom_site_charge", input_id) if table.has_column(6) else None
    rotations, translations = _symmetry_operations(block, input_id)
    frac, site = expand_symmetry(frac, rotations, translations, lattice)
    check_declared_composition(block, numbers[site], input_id)
    return checked(Crystal(str(input_id), lattice, frac, numbers[site], None if charges is None else charges[site]))


def checked(crystal: Crystal) -> Crystal:
    """``crystal``, after the cheap checks of its cell that every structure read passes before any search.

    The cell must hold at least ``MIN_VOLUME_PER_ATOM`` Å³ per atom and its lattice vectors be at
    least ``MIN_LATTICE_VECTOR`` Å long (an atom closer to its own periodic image overlaps it); a
    cell that fails them (a typo in a cell length, a hostile file) would make a neighbour search
    allocate without bound.

    Raises:
        InvalidStructureError: naming the structure, the value and the bound.
    """
    lengths = np.linalg.norm(crystal.lattice, axis=1)
    if lengths.min() < MIN_LATTICE_VECTOR:
        axis = "abc"[int(np.argmin(lengths))]
        raise InvalidStructureError(crystal.id, f"lattice vector {axis} is {lengths.min():.3g} Å long (less than "
                                                f"{MIN_LATTICE_VECTOR} Å): every atom would overlap its own periodic image")
    per_atom = abs(float(np.linalg.det(crystal.lattice))) / max(len(crystal), 1)
    if not per_atom >= MIN_VOLUME_PER_ATOM:
        raise InvalidStructureError(crystal.id, f"the cell holds {per_atom:.3g} Å³ per atom (less than {MIN_VOLUME_PER_ATOM} Å³; "
                                                "the densest solids hold about 5): a wrong cell")
    return crystal


def check_declared_composition(block, numbers: np.ndarray, input_id: object) -> None:
    """Refuse a structure whose atoms (after symmetry expansion) do not make the formula its CIF declares.

    The formula is ``_chemical_formula_sum`` or, without it, the sum of ``_chemical_formula_moiety``.
    Writers disagree on what it counts (the formula unit, as the CIF standard says, or the whole
    cell, as pymatgen writes it), so the atoms must match the formula times ``_cell_formula_units_Z``
    or the formula itself (without Z: the formula times a whole number). This catches a file cut at
    a row boundary, which gemmi reads as a whole but shorter loop. A CIF that declares no formula
    (or one that cannot be read as element counts) gets no composition check: such a cut cannot be
    told from a complete file, and only the loop's own completeness (every row has every column),
    the numbers and the cell (``checked``) are checked.

    Raises:
        InvalidStructureError: naming ``input_id``, the composition read and the one declared.
    """
    tag, declared = _declared_formula(block)
    if not declared:
        return
    found = dict(zip(*np.unique(numbers, return_counts=True)))
    raw_z = block.find_value("_cell_formula_units_Z")
    z = gemmi.cif.as_number(raw_z) if raw_z is not None else float("nan")
    if np.isfinite(z) and z > 0:
        multiples = sorted({1.0, z})
        times = f" or {z:g} times that (_cell_formula_units_Z)" if z != 1 else ""
    else:  # without Z, the cell holds a whole number of formula units
        multiples = [max(1.0, round(sum(found.values()) / sum(declared.values())))]
        times = " times a whole number (no _cell_formula_units_Z)"
    elements = sorted(set(found) | set(declared))
    for multiple in multiples:
        if all(abs(found.get(e, 0) - multiple * declared.get(e, 0.0)) <= 0.01 * max(1.0, multiple * declared.get(e, 0.0))
               for e in elements):
            return
    raise InvalidStructureError(input_id, f"the atoms read ({_formula(found)}) do not make the declared {tag} "
                                          f"{_formula(declared)}{times}: a truncated file or missing atoms")


def _declared_formula(block) -> tuple[str, dict[int, float]]:
    """The tag and the element counts (atomic number -> count) of the formula a CIF block declares, or ``("", {})``."""
    for tag in ("_chemical_formula_sum", "_chemical_formula_moiety"):
        raw = block.find_value(tag)
        if raw is None or gemmi.cif.is_null(raw):
            continue
        counts: dict[int, float] = {}
        for part in gemmi.cif.as_string(raw).split(","):
            multiple, inner = _moiety_part(part)
            for element, count in _FORMULA_TERM.findall(inner):
                if not is_element(element):
                    return "", {}  # not element counts (a placeholder, a label): nothing to check against
                z = atomic_number(element, tag)
                counts[z] = counts.get(z, 0.0) + multiple * (float(count) if count else 1.0)
        return (tag, counts) if counts else ("", {})
    return "", {}


def _moiety_part(part: str) -> tuple[float, str]:
    """``"2(C3 H7 N O)"`` -> ``(2.0, "C3 H7 N O")``; a part without a multiplier counts once. Charges are dropped."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*\((.*)\)\s*\d*[+-]?\s*", part)
    text = match[2] if match else part
    return (float(match[1]) if match else 1.0), re.sub(r"(?<![A-Za-z])\d*[+-]", " ", text)


def _formula(counts: dict) -> str:
    return " ".join(f"{symbol(int(z))}{count:g}" for z, count in sorted(counts.items()))


def crystal_from_structure(structure, input_id: object) -> Crystal:
    """A pymatgen ``Structure`` as a ``Crystal``; its ``charge`` site property becomes the charges."""
    if len(structure) == 0:
        raise InvalidStructureError(input_id, "structure has no atoms")
    if not structure.is_ordered:
        raise PartialOccupancyError(input_id, "structure has partially occupied (disordered) sites")
    charges = structure.site_properties.get("charge")
    numbers = np.array([site.specie.Z for site in structure], dtype=np.int64)
    return checked(Crystal(
        str(input_id),
        np.array(structure.lattice.matrix, dtype=np.float64),
        np.mod(np.array(structure.frac_coords, dtype=np.float64), 1.0),
        numbers,
        None if charges is None or any(c is None for c in charges) else np.array(charges, dtype=np.float64),
    ))


def _lattice(block, input_id: object) -> np.ndarray:
    values = []
    for tag in _CELL_TAGS:
        raw = block.find_value(tag)
        value = gemmi.cif.as_number(raw) if raw is not None else float("nan")
        if not np.isfinite(value) or value <= 0:
            raise InvalidStructureError(input_id, f"missing or invalid {tag} ({raw!r})")
        values.append(value)
    cell = gemmi.UnitCell(*values)
    if not cell.volume > 1e-6 or not np.isfinite(cell.volume):
        raise InvalidStructureError(input_id, f"unit cell has no volume ({values})")
    return np.array(cell.orth.mat.tolist(), dtype=np.float64).T  # columns of orth are a, b, c


def _numbers(column, tag: str, input_id: object, missing: float | None = None) -> np.ndarray:
    values = np.array([gemmi.cif.as_number(v) for v in column], dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        if missing is not None:
            values[bad] = missing
        else:
            raise InvalidStructureError(input_id, f"{tag} has {bad.sum()} missing or non-numeric value(s)")
    return values


def _element_part(symbol: str) -> str:
    """``"Zn1"`` -> ``"Zn"``, ``"O2-"`` -> ``"O"``, ``"CL3"`` -> ``"Cl"``: the element in a label."""
    match = re.match(r"[A-Za-z]{1,2}", symbol.strip())
    if not match:
        return symbol
    letters = match.group()
    if len(letters) == 2 and not is_element(letters) and is_element(letters[0]):
        return letters[0]  # "OH1" is oxygen; "Xx" stays "Xx", so that the error names it as written
    return letters


def _symmetry_operations(block, input_id: object) -> tuple[np.ndarray, np.ndarray]:
    """Rotation ``[K, 3, 3]`` and translation ``[K, 3]`` parts acting on fractional coordinates."""
    triplets = next((list(block.find_values(tag)) for tag in _SYMOP_TAGS if block.find_values(tag)), [])
    try:
        if triplets:
            ops = [gemmi.Op(gemmi.cif.as_string(t)) for t in triplets]
        else:
            name = next((gemmi.cif.as_string(block.find_value(t)) for t in _SPACE_GROUP_TAGS
                         if block.find_value(t) is not None), "P 1")
            group = gemmi.find_spacegroup_by_name(name)
            if group is None:
                raise InvalidStructureError(input_id, f"unknown space group {name!r} and no symmetry operations")
            ops = list(group.operations())
    except (RuntimeError, ValueError) as error:
        raise InvalidStructureError(input_id, f"bad symmetry operation: {error}") from error
    rotations = np.array([op.rot for op in ops], dtype=np.float64) / gemmi.Op.DEN
    translations = np.array([op.tran for op in ops], dtype=np.float64) / gemmi.Op.DEN
    return rotations, translations


def expand_symmetry(frac: np.ndarray, rotations: np.ndarray, translations: np.ndarray,
                    lattice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply symmetry operations to asymmetric sites and merge coinciding images.

    Returns the wrapped fractional coordinates of all atoms in the cell and, for each, the index
    of the asymmetric site it came from.
    """
    if len(rotations) == 1 and np.allclose(rotations[0], np.eye(3)) and not translations[0].any():
        wrapped = np.mod(frac, 1.0)
        wrapped[wrapped >= 1.0] = 0.0  # -1e-17 % 1 == 1.0
        return wrapped, np.arange(len(frac))
    images = np.einsum("kij,nj->nki", rotations, frac) + translations  # [N, K, 3]
    images = np.mod(images, 1.0)
    images[images >= 1.0] = 0.0
    keep = np.ones(images.shape[:2], dtype=bool)
    for k in range(1, images.shape[1]):
        delta = images[:, :k] - images[:, k : k + 1]
        delta -= np.round(delta)
        close = np.linalg.norm(delta @ lattice, axis=-1) < SAME_SITE_TOLERANCE
        keep[:, k] = ~close.any(axis=1)
    site, op = np.nonzero(keep)
    return images[site, op], site
