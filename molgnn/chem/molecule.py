"""SMILES parsing and the raw per-atom / per-bond facts of an RDKit molecule.

This module reads RDKit; the encoding of these facts into feature vectors lives in
``molgnn.featurize.molecule``. Every RDKit getter is a Python-level call that costs about as
much as a tenth of parsing the SMILES, so the tables are built with the fewest calls that
determine them and everything after those calls is vectorized over a whole batch.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import rdFingerprintGenerator, rdPartialCharges

from molgnn.chem.errors import InvalidInputError, InvalidSmilesError

WHITESPACE = re.compile(r"\s")  # str.isspace's characters: RDKit stops reading a SMILES at the first one
# A bracket atom of element H ([H], [2H], [H+], [H:1]; not He, Hf, Hg, Ho, Hs): the only way a SMILES
# writes a hydrogen atom. Without one, RDKit's removal of hydrogen atoms after parsing has nothing to
# remove, yet costs a sixth of the parse; it is skipped (checked equal on 160,000 MoleculeNet SMILES).
EXPLICIT_HYDROGEN = re.compile(r"\[\d*H(?![efgos])")
# Characters through which a SMILES states stereochemistry (tetrahedral ``@``, double-bond ``/`` ``\``).
# Without any, the stereo perception RDKit runs after every parse (a sixth of the parse on tox21)
# finds nothing to assign or clean up; it runs only for SMILES that hold one (molecules, canonical
# SMILES, tables, fingerprints and descriptors checked equal on 181,000 MoleculeNet SMILES).
STEREO_MARK = re.compile(r"[@/\\]")

# Columns of ``atom_table``.
ATOM_COLUMNS = (
    "element",  # atomic number
    "degree",
    "formal_charge",
    "hybridization",
    "aromatic",
    "total_hs",
    "in_ring",
    "chirality",
    "radical_electrons",
)
# Columns of ``bond_table``.
BOND_COLUMNS = ("begin", "end", "bond_type", "conjugated", "in_ring", "stereo")

# RDKit enum values, named here so the featurizer can build its categories without RDKit.
HYBRIDIZATIONS = {
    "S": int(Chem.HybridizationType.S),
    "SP": int(Chem.HybridizationType.SP),
    "SP2": int(Chem.HybridizationType.SP2),
    "SP3": int(Chem.HybridizationType.SP3),
    "SP3D": int(Chem.HybridizationType.SP3D),
    "SP3D2": int(Chem.HybridizationType.SP3D2),
}
CHIRAL_TAGS = {
    "CW": int(Chem.ChiralType.CHI_TETRAHEDRAL_CW),
    "CCW": int(Chem.ChiralType.CHI_TETRAHEDRAL_CCW),
}
BOND_TYPES = {
    "single": int(Chem.BondType.SINGLE),
    "double": int(Chem.BondType.DOUBLE),
    "triple": int(Chem.BondType.TRIPLE),
    "aromatic": int(Chem.BondType.AROMATIC),
}
BOND_STEREOS = {
    "any": int(Chem.BondStereo.STEREOANY),
    "Z": int(Chem.BondStereo.STEREOZ),
    "E": int(Chem.BondStereo.STEREOE),
    "cis": int(Chem.BondStereo.STEREOCIS),
    "trans": int(Chem.BondStereo.STEREOTRANS),
}


def parse_smiles(smiles: object, input_id: object = None) -> Chem.Mol:
    """Parse and sanitize one SMILES.

    Raises:
        InvalidSmilesError: naming ``input_id`` (default: the SMILES itself) when the SMILES is
            not a string, is empty, holds whitespace inside it (leading and trailing whitespace is
            ignored), cannot be parsed, or fails sanitization (e.g. a valence error).
    """
    with rdBase.BlockLogs():
        return _parse(smiles, smiles if input_id is None else input_id)


def parse_many(smiles: Sequence[object], ids: Sequence[object]) -> tuple[list[Chem.Mol], list[int], list[InvalidSmilesError]]:
    """Parse a batch: the molecules, the positions they came from, and one error per reject."""
    mols, positions, rejects = [], [], []
    with rdBase.BlockLogs(), _gc_paused():  # RDKit's own messages are replaced by the typed errors
        for position, (text, input_id) in enumerate(zip(smiles, ids)):
            try:
                mols.append(_parse(text, input_id))
                positions.append(position)
            except InvalidSmilesError as error:
                rejects.append(error.detached())
    return mols, positions, rejects


def mol_to_smiles(mol: Chem.Mol) -> str:
    """Canonical SMILES of a molecule."""
    return Chem.MolToSmiles(mol)


def _parse(smiles: object, input_id: object) -> Chem.Mol:
    if not isinstance(smiles, str):
        raise InvalidSmilesError(input_id, f"SMILES must be a string, got {type(smiles).__name__}")
    if not smiles or smiles.isspace():
        raise InvalidSmilesError(input_id, "empty SMILES")
    smiles = smiles.strip()
    space = WHITESPACE.search(smiles)
    if space is not None:  # RDKit reads up to the first whitespace and takes the rest as the molecule's name
        raise InvalidSmilesError(input_id, f"SMILES holds whitespace ({space.group()!r} at position {space.start()}); "
                                           f"RDKit would read only {smiles[:space.start()]!r}")
    if EXPLICIT_HYDROGEN.search(smiles):
        mol = Chem.MolFromSmiles(smiles)
    else:  # RDKit's parse without hydrogen removal, its sanitization, then stereo perception only if stated
        mol = Chem.MolFromSmiles(smiles, _unsanitized())
        if mol is not None and Chem.SanitizeMol(mol, catchErrors=True) != Chem.SANITIZE_NONE:
            mol = None
        if mol is not None and STEREO_MARK.search(smiles):
            Chem.AssignStereochemistry(mol, cleanIt=True, force=True, flagPossibleStereoCenters=True)
    if mol is None:
        raise InvalidSmilesError(input_id, _parse_failure_reason(smiles))
    if mol.GetNumAtoms() == 0:
        raise InvalidSmilesError(input_id, "SMILES has no atoms")
    return mol


@lru_cache(maxsize=1)
def _unsanitized() -> Chem.SmilesParserParams:
    params = Chem.SmilesParserParams()
    params.removeHs = False
    params.sanitize = False
    return params


def _parse_failure_reason(smiles: str) -> str:
    """Why RDKit rejected a SMILES: a syntax error, or the sanitization message."""
    unsanitized = Chem.MolFromSmiles(smiles, sanitize=False)
    if unsanitized is None:
        return "RDKit cannot parse the SMILES (syntax error)"
    try:
        Chem.SanitizeMol(unsanitized)
    except Chem.rdchem.MolSanitizeException as error:
        return f"RDKit sanitization failed: {error}"
    return "RDKit rejected the SMILES"


@dataclass(frozen=True)
class MoleculeTables:
    """Raw facts of a batch of molecules, concatenated.

    ``atoms``: ``[sum(atom_counts), len(ATOM_COLUMNS)]`` integers; ``bonds``:
    ``[sum(bond_counts), len(BOND_COLUMNS)]`` integers whose ``begin``/``end`` are atom indices
    local to their own molecule.
    """

    atoms: np.ndarray
    bonds: np.ndarray
    atom_counts: np.ndarray
    bond_counts: np.ndarray


def molecule_tables(mols: list[Chem.Mol], smiles: list[str] | None = None) -> MoleculeTables:
    """Tabulate atoms and bonds of ``mols`` with as few RDKit calls as possible.

    Degree, aromaticity and ring membership of atoms are derived from the bonds (an atom is
    aromatic / in a ring exactly when one of its bonds is), so each atom costs four RDKit calls
    and each bond five. When the molecules' ``smiles`` are given, facts that a SMILES can only
    carry through specific characters are read only when those characters occur: chirality
    (``@``), double-bond stereo (``/``, ``\\``) and radicals (bracket atoms, ``[``). The tables
    equal those of a full read (the tests check this on real data sets).
    """
    with _gc_paused():
        return _molecule_tables(mols, smiles)


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while RDKit wrapper objects pile up.

    Each atom and bond wrapper is a tracked allocation, so a batch triggers many collections
    that scan every live object and find nothing to free (wrappers hold no cycles); pausing
    the collector halves the cost of reading a batch.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _molecule_tables(mols: list[Chem.Mol], smiles: list[str] | None) -> MoleculeTables:
    atoms, bonds, atom_counts, bond_counts = [], [], [], []
    # Ranges of atoms / bonds whose molecule's SMILES allows the fact at all.
    chiral_atoms, stereo_bonds, radical_atoms, dative_bonds = [], [], [], []
    for k, mol in enumerate(mols):
        first_atom, first_bond = len(atoms), len(bonds)
        atoms += map(mol.GetAtomWithIdx, range(mol.GetNumAtoms()))
        bonds += map(mol.GetBondWithIdx, range(mol.GetNumBonds()))
        atom_counts.append(len(atoms) - first_atom)
        bond_counts.append(len(bonds) - first_bond)
        text = None if smiles is None else smiles[k]
        if text is None or "@" in text:
            chiral_atoms.append((first_atom, len(atoms)))
        if text is None or "[" in text:
            radical_atoms.append((first_atom, len(atoms)))
        if text is None or "/" in text or "\\" in text:
            stereo_bonds.append((first_bond, len(bonds)))
        if text is None or "<" in text or ">" in text:
            dative_bonds.append((first_bond, len(bonds)))
    atom_counts = np.array(atom_counts, dtype=np.int64)
    bond_counts = np.array(bond_counts, dtype=np.int64)
    table = np.zeros((len(atoms), len(ATOM_COLUMNS)), dtype=np.int64)
    table[:, 0] = list(map(Chem.Atom.GetAtomicNum, atoms))
    table[:, 2] = list(map(Chem.Atom.GetFormalCharge, atoms))
    table[:, 3] = list(map(Chem.Atom.GetHybridization, atoms))
    table[:, 5] = list(map(Chem.Atom.GetTotalNumHs, atoms))
    _fill(table[:, 7], chiral_atoms, atoms, Chem.Atom.GetChiralTag)
    _fill(table[:, 8], radical_atoms, atoms, Chem.Atom.GetNumRadicalElectrons)
    bond_table = np.zeros((len(bonds), len(BOND_COLUMNS)), dtype=np.int64)
    bond_table[:, 0] = list(map(Chem.Bond.GetBeginAtomIdx, bonds))
    bond_table[:, 1] = list(map(Chem.Bond.GetEndAtomIdx, bonds))
    # The bond order as a float is four times cheaper to read than the type enum and names the
    # type exactly, except that a dative bond (only written ``->`` / ``<-``) also reads 1.0.
    orders = np.array(list(map(Chem.Bond.GetBondTypeAsDouble, bonds)))
    bond_table[:, 2] = _TYPE_OF_DOUBLED_ORDER[np.clip((orders * 2).astype(np.int64), 0, 8)]
    _fill(bond_table[:, 2], dative_bonds, bonds, Chem.Bond.GetBondType)
    bond_table[:, 3] = list(map(Chem.Bond.GetIsConjugated, bonds))
    bond_table[:, 4] = list(map(Chem.Bond.IsInRing, bonds))
    _fill(bond_table[:, 5], stereo_bonds, bonds, Chem.Bond.GetStereo)

    # Degree, aromaticity and ring membership of atoms from their bonds.
    offsets = np.repeat(np.cumsum(atom_counts) - atom_counts, bond_counts)
    ends = (bond_table[:, :2] + offsets[:, None]).ravel()
    total = len(atoms)
    table[:, 1] = np.bincount(ends, minlength=total)
    table[:, 4] = np.bincount(ends[np.repeat(bond_table[:, 2] == BOND_TYPES["aromatic"], 2)], minlength=total) > 0
    table[:, 6] = np.bincount(ends[np.repeat(bond_table[:, 4] == 1, 2)], minlength=total) > 0
    return MoleculeTables(table, bond_table, atom_counts, bond_counts)


_TYPE_OF_DOUBLED_ORDER = np.full(9, int(Chem.BondType.OTHER))
_TYPE_OF_DOUBLED_ORDER[[2, 3, 4, 6]] = [BOND_TYPES[t] for t in ("single", "aromatic", "double", "triple")]


def _fill(column: np.ndarray, ranges: list[tuple[int, int]], items: list, getter) -> None:
    """Write ``getter(item)`` into ``column`` for the items inside ``ranges``."""
    if len(ranges) == 1 and ranges[0] == (0, len(items)):
        column[:] = list(map(getter, items))
        return
    for start, end in ranges:
        column[start:end] = list(map(getter, items[start:end]))


def gasteiger_charges(mol: Chem.Mol, input_id: object) -> np.ndarray:
    """Gasteiger-Marsili partial charges per atom (float32), implicit hydrogens' charges included.

    RDKit keeps the charge of an atom's implicit hydrogens apart (``_GasteigerHCharge``); adding
    it to the atom gives united-atom charges that sum to the molecule's formal charge.

    Raises:
        InvalidInputError: when RDKit has no Gasteiger parameters for an element and returns
            NaN, rather than letting NaN reach a model.
    """
    rdPartialCharges.ComputeGasteigerCharges(mol, throwOnParamFailure=False)
    charges = np.array([atom.GetDoubleProp("_GasteigerCharge") + atom.GetDoubleProp("_GasteigerHCharge")
                        for atom in mol.GetAtoms()], dtype=np.float32)
    bad = ~np.isfinite(charges)
    if bad.any():
        symbols = sorted({mol.GetAtomWithIdx(int(i)).GetSymbol() for i in np.flatnonzero(bad)})
        raise InvalidInputError(
            input_id, f"Gasteiger charges undefined: RDKit lacks parameters for an element among {', '.join(symbols)}")
    return charges


@lru_cache(maxsize=8)
def _morgan_generator(radius: int, bits: int):
    # RDKit generators are not picklable, so each process builds its own once.
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=bits)


def morgan_fingerprint(mol: Chem.Mol, radius: int, bits: int) -> np.ndarray:
    """Morgan (ECFP-like) bit vector of length ``bits`` as uint8."""
    return _morgan_generator(radius, bits).GetFingerprintAsNumPy(mol).astype(np.uint8, copy=False)
