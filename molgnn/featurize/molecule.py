"""SMILES -> molecular graph.

Atom features: element (with an unknown slot), degree, formal charge, hybridization,
aromaticity, total hydrogens, ring membership, chirality and radical electrons, each one-hot
with an ``other`` slot so that an unseen value never crashes. Bond features: type, conjugation,
ring membership and stereo. Optional: Gasteiger partial charges (``data.charge``), a Morgan
fingerprint (``data.fp``, ``[1, bits]`` uint8) for hybrid graph + fingerprint models, and RDKit's
2D descriptors (``data.descriptors``, ``[1, K]`` float32, raw, NaN where RDKit cannot compute one;
see ``molgnn.chem.rdkit_descriptors``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch_geometric.data import Data

from molgnn.chem import molecule as chem
from molgnn.chem.elements import symbol
from molgnn.chem.errors import InvalidInputError
from molgnn.chem.rdkit_descriptors import rdkit_2d_descriptors, rdkit_2d_names
from molgnn.errors import ConfigError
from molgnn.featurize.base import MOLECULES, Featurizer
from molgnn.featurize.collated import Collated
from molgnn.featurize.onehot import Flag, OneHot, TableEncoder

# Elements of drug-like and toxicology sets (MoleculeNet); anything else, including the dummy
# atom ``*``, falls into the element=other slot.
DESCRIPTOR_SETS = ("none", "rdkit2d")
DRUG_ELEMENTS = (1, 3, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 19, 20, 22, 24, 25, 26, 27, 28,
                 29, 30, 33, 34, 35, 50, 53, 78, 80)


@dataclass(frozen=True)
class MoleculeFeaturizer(Featurizer):
    """Turns a SMILES string into a ``torch_geometric.data.Data`` graph; the ``Featurizer`` of kind ``"molecules"``.

    Args:
        elements: atomic numbers that get their own slot; others go to ``element=other``.
        max_degree: degrees ``0..max_degree`` get a slot each.
        formal_charges: formal charges that get a slot each.
        max_hydrogens: total hydrogen counts ``0..max_hydrogens`` get a slot each.
        gasteiger: add Gasteiger partial charges as ``data.charge`` ([N] float32).
        fingerprint_bits: length of the Morgan fingerprint in ``data.fp``; 0 for none.
        fingerprint_radius: Morgan radius (2 is ECFP4).
        descriptors: ``"rdkit2d"`` adds RDKit's 2D descriptors as ``data.descriptors`` (raw values;
            models standardize them with training statistics); ``"none"`` adds none.

    Example:
        >>> featurizer = MoleculeFeaturizer(fingerprint_bits=1024)
        >>> graph = featurizer("c1ccccc1O")
        >>> graph.x.shape[1] == featurizer.num_atom_features
        True
    """

    elements: tuple[int, ...] = DRUG_ELEMENTS
    max_degree: int = 6
    formal_charges: tuple[int, ...] = (-2, -1, 0, 1, 2)
    max_hydrogens: int = 4
    gasteiger: bool = False
    fingerprint_bits: int = 0
    fingerprint_radius: int = 2
    descriptors: str = "none"

    kind = MOLECULES
    chunk_size = 2048
    hints = {"charges": "featurize with gasteiger=True (molgnn train ... --gasteiger)",
             "fingerprint": "featurize with fingerprint_bits > 0 (molgnn train ... --fingerprint-bits 2048)",
             "descriptors": "featurize with descriptors='rdkit2d' (molgnn train ... --descriptors rdkit2d)"}
    part_settings = {"charges": ("gasteiger", False), "fingerprint": ("fingerprint_bits", 0),
                     "descriptors": ("descriptors", "none")}

    def __post_init__(self):
        if self.descriptors not in DESCRIPTOR_SETS:
            raise ConfigError(f"descriptors must be one of {DESCRIPTOR_SETS}, got {self.descriptors!r}")

    @cached_property
    def _atom_encoder(self) -> TableEncoder:
        hybrid = chem.HYBRIDIZATIONS
        blocks = (
            OneHot("element", tuple(self.elements), tuple(symbol(z) for z in self.elements)),
            OneHot("degree", tuple(range(self.max_degree + 1)), tuple(map(str, range(self.max_degree + 1)))),
            OneHot("formal_charge", tuple(self.formal_charges), tuple(f"{c:+d}" for c in self.formal_charges)),
            OneHot("hybridization", tuple(hybrid.values()), tuple(hybrid)),
            Flag("aromatic"),
            OneHot("total_hs", tuple(range(self.max_hydrogens + 1)), tuple(map(str, range(self.max_hydrogens + 1)))),
            Flag("in_ring"),
            OneHot("chirality", tuple(chem.CHIRAL_TAGS.values()), tuple(chem.CHIRAL_TAGS)),
            OneHot("radical_electrons", (0, 1, 2), ("0", "1", "2")),
        )
        return TableEncoder(chem.ATOM_COLUMNS, blocks)

    @cached_property
    def _bond_encoder(self) -> TableEncoder:
        blocks = (
            OneHot("bond_type", tuple(chem.BOND_TYPES.values()), tuple(chem.BOND_TYPES)),
            Flag("conjugated"),
            Flag("in_ring"),
            OneHot("stereo", tuple(chem.BOND_STEREOS.values()), tuple(chem.BOND_STEREOS)),
        )
        return TableEncoder(chem.BOND_COLUMNS, blocks)

    @property
    def atom_feature_names(self) -> list[str]:
        return list(self._atom_encoder.names)

    @property
    def edge_feature_names(self) -> list[str]:
        return list(self._bond_encoder.names)

    @property
    def num_atom_features(self) -> int:
        return self._atom_encoder.width

    @property
    def num_edge_features(self) -> int:
        return self._bond_encoder.width

    @property
    def provides(self) -> frozenset[str]:
        parts = {"charges": self.gasteiger, "fingerprint": bool(self.fingerprint_bits), "descriptors": self.descriptors != "none"}
        return frozenset(part for part, present in parts.items() if present)

    @property
    def descriptor_names(self) -> list[str]:
        return list(rdkit_2d_names()) if self.descriptors == "rdkit2d" else []

    def graph_dims(self) -> dict[str, int]:
        """``node_dim``, ``edge_dim`` and, with those parts, ``fp_dim`` and ``descriptor_dim``."""
        return {**super().graph_dims(), **({"fp_dim": self.fingerprint_bits} if self.fingerprint_bits else {})}

    @classmethod
    def accepts(cls, record: object) -> bool:
        return isinstance(record, str)

    def __call__(self, smiles: str, input_id: object = None) -> Data:
        """Featurize one SMILES; raises ``InvalidSmilesError`` naming ``input_id`` (or the SMILES)."""
        graphs, rejects = self.featurize_many([smiles], [smiles if input_id is None else input_id])
        if rejects:
            raise rejects[0]
        return self.expand(graphs.only())

    def from_mol(self, mol, input_id: object) -> Data:
        """Featurize an RDKit ``Mol`` that is already parsed and sanitized."""
        graphs, rejects = self._encode([mol], [str(input_id)], smiles=None)
        if rejects:
            raise rejects[0]
        return self.expand(graphs.only())

    def expand(self, data: Data) -> Data:
        """Cast the compact 0/1 ``x`` and ``edge_attr`` (uint8, as cached) to float32.

        Works on one graph or a whole ``Batch``; returns a shallow copy.
        """
        out = copy.copy(data)
        out.x = data.x.float()
        out.edge_attr = data.edge_attr.float()
        return out

    def featurize_many(self, smiles: Sequence[str], ids: Sequence[object]) -> tuple[Collated, list[InvalidInputError]]:
        """Featurize a batch: the compact graphs that worked, collated, and one error per rejected input.

        Compact graphs hold ``x`` and ``edge_attr`` as uint8; ``expand`` makes them float32.
        """
        mols, positions, rejects = chem.parse_many(smiles, ids)
        kept_ids = [str(ids[k]) for k in positions]
        kept_smiles = [smiles[k] for k in positions]
        graphs, more_rejects = self._encode(mols, kept_ids, kept_smiles)
        return graphs, rejects + more_rejects

    def _encode(self, mols: list, ids: list[str], smiles: list[str] | None) -> tuple[Collated, list[InvalidInputError]]:
        rejects, charges, fingerprints = [], [], []
        if self.gasteiger:
            keep = []
            for k, (mol, input_id) in enumerate(zip(mols, ids)):
                try:
                    charges.append(chem.gasteiger_charges(mol, input_id))
                    keep.append(k)
                except InvalidInputError as error:
                    rejects.append(error.detached())
            mols, ids = [mols[k] for k in keep], [ids[k] for k in keep]
            smiles = None if smiles is None else [smiles[k] for k in keep]
        if not mols:
            return Collated.empty(), rejects
        if self.fingerprint_bits:
            fingerprints = [chem.morgan_fingerprint(m, self.fingerprint_radius, self.fingerprint_bits) for m in mols]

        tables = chem.molecule_tables(mols, smiles)
        ends = tables.bonds[:, :2]
        edge_index = np.stack([ends, ends[:, ::-1]], axis=1).reshape(-1, 2).T  # (i, j), (j, i), ...
        data = Data(
            x=torch.from_numpy(self._atom_encoder(tables.atoms)),
            z=torch.from_numpy(np.ascontiguousarray(tables.atoms[:, 0])),
            edge_index=torch.from_numpy(np.ascontiguousarray(edge_index)),
            edge_attr=torch.from_numpy(np.repeat(self._bond_encoder(tables.bonds), 2, axis=0)),
            id=ids,
            smiles=list(smiles) if smiles is not None else [chem.mol_to_smiles(m) for m in mols],
        )
        node_bounds = _bounds(tables.atom_counts)
        edge_bounds = _bounds(2 * tables.bond_counts)
        graph_bounds = torch.arange(len(mols) + 1)
        slices = {"x": node_bounds, "z": node_bounds, "edge_index": edge_bounds, "edge_attr": edge_bounds,
                  "id": graph_bounds, "smiles": graph_bounds}
        if self.gasteiger:
            data.charge = torch.from_numpy(np.concatenate(charges))
            slices["charge"] = node_bounds
        if self.fingerprint_bits:
            data.fp = torch.from_numpy(np.stack(fingerprints))
            slices["fp"] = graph_bounds
        if self.descriptors == "rdkit2d":
            data.descriptors = torch.from_numpy(rdkit_2d_descriptors(mols))
            slices["descriptors"] = graph_bounds
        return Collated(data, slices), rejects


def _bounds(counts: np.ndarray) -> torch.Tensor:
    bounds = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    return torch.from_numpy(bounds)
