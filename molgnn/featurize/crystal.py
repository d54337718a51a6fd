"""Crystal structure -> periodic graph (CGCNN-style).

Each atom is joined to its neighbours within ``cutoff`` Å over all periodic images, nearest first,
at most ``max_neighbors`` of them (ties keep the neighbour search's deterministic order). The
graph is stored compactly (atomic numbers, positions, lattice, integer image offsets and
distances, as MatGL does); ``expand`` adds the dense features (element vectors and
the Gaussian distance expansion). Datasets cache the compact graph and expand on access, which
keeps caches small and lets the expansion change without re-featurizing.

With ``descriptors``, each graph also carries global descriptors of its structure as
``data.descriptors`` (``[1, K]``, named by ``descriptor_names`` with units ``descriptor_units``):
``"pores"``, the pore geometry of ``molgnn.chem.pores.PoreGeometry`` (density, largest cavity and
pore-limiting diameters, accessible surface and volume for a CO2-sized probe, helium void fraction
and pore volume), and ``"energies"``, the CO2 host-guest energies of
``molgnn.chem.host_guest.HostGuestEnergies`` (Henry coefficient, heat of adsorption, energy
histograms), whose Coulomb part uses the featurizer's partial charges (none with ``charges="none"``:
Lennard-Jones only). Their settings are part of ``config()``, so they key caches and run folders.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from molgnn.chem import elements
from molgnn.chem.charge_equilibration import EQeq
from molgnn.chem.charge_model import SHIPPED, LearnedCharges, model_path
from molgnn.chem.crystal import Crystal, is_crystal_record, read_crystal
from molgnn.chem.errors import (
    DescriptorError,
    InvalidInputError,
    IsolatedAtomError,
    MissingChargesError,
    OverlappingAtomsError,
    TooManyAtomsError,
)
from molgnn.chem.host_guest import HostGuestEnergies
from molgnn.chem.neighbors import periodic_neighbors
from molgnn.chem.pores import PoreGeometry
from molgnn.errors import ConfigError
from molgnn.featurize.base import CRYSTALS, Featurizer
from molgnn.featurize.collated import Collated
from molgnn.featurize.gaussian import GaussianExpansion

CHARGE_SCHEMES = ("cif", "eqeq", "learned", "none")
DESCRIPTOR_SETS = {"pores": PoreGeometry, "energies": HostGuestEnergies}  # name -> calculator (default settings)
ISOLATED_POLICIES = ("error", "keep")
# A saved config with energies but no descriptor_settings predates their recording: it used these defaults of then.
UNRECORDED_SETTINGS = {"energies": {"insertions": 3000}}


@dataclass(frozen=True)
class CrystalFeaturizer(Featurizer):
    """Turns a CIF file, a CIF held in memory (``CifText``), a pymatgen ``Structure`` or a ``Crystal``
    into a periodic graph; the ``Featurizer`` of kind ``"crystals"``.

    Args:
        cutoff: neighbour search radius, Å.
        max_neighbors: keep at most this many nearest neighbours per atom.
        element_features: ``"cgcnn"`` for features built from element properties, or the path
            of a CGCNN ``atom_init.json``.
        gaussian_step: spacing (and width) of the Gaussian distance expansion, Å; centres run
            from 0 to ``cutoff``.
        charges: where ``data.charge`` (per-atom partial charges, e) comes from: ``"cif"`` reads
            ``_atom_site_charge`` (a structure without it is rejected); ``"eqeq"`` computes them by
            periodic charge equilibration (``molgnn.chem.charge_equilibration.EQeq``, any CIF or
            structure; one whose system cannot be solved is rejected with the reason); ``"learned"``
            corrects the EQeq charges towards DDEC with ``charge_model``
            (``molgnn.chem.charge_model.LearnedCharges``; on crafted726 five times closer to DDEC than EQeq);
            ``"none"`` adds no charges.
        charge_model: with ``charges="learned"``, the shipped model's name (``"ddec-crafted726"``) or the
            path of a model fit by ``molgnn.chem.charge_model.fit_charge_model``; its content hash is
            part of ``config()``. Ignored (reset to the default) with any other ``charges``.
        min_distance: two atoms closer than this (Å) are rejected as overlapping.
        isolated: what to do with an atom that has no neighbour inside the cutoff: ``"error"``
            rejects the structure, ``"keep"`` keeps the atom as a node without edges.
        max_atoms: structures with more atoms are rejected (protects memory in bulk jobs).
        descriptors: global descriptor sets to attach, of ``"pores"`` and ``"energies"`` (see the module);
            a structure where one cannot be computed (an element without force-field parameters, say)
            is rejected with the reason, never given zeros.
        descriptor_settings: arguments of a descriptor set's calculator, by set name (e.g.
            ``{"energies": {"insertions": 30000}}``); the rest keep their defaults.
    """

    cutoff: float = 8.0
    max_neighbors: int = 12
    element_features: str = "cgcnn"
    gaussian_step: float = 0.2
    charges: str = "cif"
    charge_model: str = SHIPPED
    min_distance: float = 0.5
    isolated: str = "error"
    max_atoms: int = 5000
    descriptors: tuple[str, ...] = ()
    descriptor_settings: object = None  # kept as ((set, ((argument, value), ...)), ...): hashable, only non-defaults

    kind = CRYSTALS
    chunk_size = 32
    hints = {"charges": "featurize with charges='cif', 'eqeq' or 'learned' (computed; e.g. molgnn train ... --charges learned)",
             "descriptors": "featurize with descriptors=('pores', 'energies') (e.g. molgnn train ... --descriptors pores,energies)"}
    part_settings = {"charges": ("charges", "none"), "descriptors": ("descriptors", ())}

    def __post_init__(self):
        if self.charges not in CHARGE_SCHEMES:
            raise ConfigError(f"charges must be one of {CHARGE_SCHEMES}, got {self.charges!r}")
        if self.charges != "learned":  # the model changes nothing then (``limited_to`` turns charges off, not the model)
            object.__setattr__(self, "charge_model", SHIPPED)
        if self.isolated not in ISOLATED_POLICIES:
            raise ConfigError(f"isolated must be one of {ISOLATED_POLICIES}, got {self.isolated!r}")
        if not self.cutoff > 0 or self.max_neighbors < 1:
            raise ConfigError("cutoff must be > 0 and max_neighbors >= 1")
        object.__setattr__(self, "descriptors", tuple(self.descriptors))
        unknown = [name for name in self.descriptors if name not in DESCRIPTOR_SETS]
        if unknown or len(set(self.descriptors)) != len(self.descriptors):
            raise ConfigError(f"descriptors must be distinct names of {tuple(DESCRIPTOR_SETS)}, got {self.descriptors!r}")
        object.__setattr__(self, "descriptor_settings", _settings_key(self.descriptors, self.descriptor_settings))

    @cached_property
    def descriptor_calculators(self) -> tuple:
        settings = dict(self.descriptor_settings or ())
        return tuple(DESCRIPTOR_SETS[name](**dict(settings.get(name, ()))) for name in self.descriptors)

    @property
    def descriptor_names(self) -> list[str]:
        return [name for calculator in self.descriptor_calculators for name in calculator.names]

    @property
    def descriptor_units(self) -> list[str]:
        return [unit for calculator in self.descriptor_calculators for unit in calculator.units]

    @cached_property
    def element_table(self) -> elements.ElementTable:
        if self.element_features == "cgcnn":
            return elements.cgcnn_property_table()
        return elements.read_atom_init(self.element_features)

    @cached_property
    def gaussian(self) -> GaussianExpansion:
        return GaussianExpansion(0.0, self.cutoff, self.gaussian_step)

    @property
    def atom_feature_names(self) -> list[str]:
        return list(self.element_table.names)

    @property
    def edge_feature_names(self) -> list[str]:
        return [f"gaussian_{c:.2f}A" for c in self.gaussian.centers.tolist()]

    @property
    def num_atom_features(self) -> int:
        return len(self.element_table.names)

    @property
    def num_edge_features(self) -> int:
        return len(self.gaussian.centers)

    @property
    def provides(self) -> frozenset[str]:
        return frozenset(({"charges"} if self.charges != "none" else set()) | ({"descriptors"} if self.descriptors else set()))

    @classmethod
    def accepts(cls, record: object) -> bool:
        return is_crystal_record(record)

    def parts_needed_by(self, part: str) -> frozenset[str]:
        """The host-guest energies' Coulomb part uses the charges."""
        return frozenset({"charges"}) if part == "descriptors" and "energies" in self.descriptors else frozenset()

    @classmethod
    def default(cls, charges_in_files: bool = False) -> CrystalFeaturizer:
        return cls(charges="cif" if charges_in_files else "none")

    def config(self) -> dict:
        """The full configuration, JSON-ready; an ``atom_init.json`` also by its content hash."""
        config = super().config()
        config.pop("descriptor_settings")
        if self.descriptors:  # every setting of the calculators, so a change of them is a new cache and a checked run folder
            config["descriptor_settings"] = {name: asdict(c) for name, c in zip(self.descriptors, self.descriptor_calculators)}
        if self.charges == "learned":
            config["charge_model_sha256"] = hashlib.sha256(model_path(self.charge_model).read_bytes()).hexdigest()
        else:
            config.pop("charge_model")
        if self.element_features != "cgcnn":
            config["element_features_sha256"] = hashlib.sha256(Path(self.element_features).read_bytes()).hexdigest()
        return config

    @classmethod
    def from_config(cls, config: dict, base_dir: str | Path | None = None) -> CrystalFeaturizer:
        """A relative ``element_features`` path (an ``atom_init.json`` stored in a run folder) is resolved
        against ``base_dir``, and its content must match the saved hash."""
        values = dict(config)
        digest = values.pop("element_features_sha256", None)
        charge_digest = values.pop("charge_model_sha256", None)
        if charge_digest and hashlib.sha256(model_path(values.get("charge_model", SHIPPED)).read_bytes()).hexdigest() != charge_digest:
            raise ConfigError(f"charge model {values.get('charge_model', SHIPPED)!r} differs from the one the featurizer "
                              "was configured with")
        settings = values.pop("descriptor_settings", None)
        if values.get("element_features", "cgcnn") != "cgcnn":
            path = Path(values["element_features"])
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            if digest and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                raise ConfigError(f"{path} differs from the atom_init.json the featurizer was configured with")
            values["element_features"] = str(path)
        featurizer = super().from_config(values, base_dir)
        if settings is None and "energies" in featurizer.descriptors:  # saved before settings were recorded
            settings = UNRECORDED_SETTINGS
        if settings is not None:  # the saved settings, with any argument this molgnn added at its default
            featurizer = dataclasses.replace(featurizer, descriptor_settings=settings)
        return featurizer

    def __call__(self, source, input_id: object = None) -> Data:
        """Featurize one structure (CIF path, ``CifText``, pymatgen ``Structure`` or ``Crystal``) to a full graph."""
        return self.expand(self.graph(source, input_id))

    def graph(self, source, input_id: object = None) -> Data:
        """The compact graph of one structure; raises ``InvalidInputError`` subclasses naming it."""
        crystal = read_crystal(source, input_id)
        input_id = crystal.id
        if len(crystal) > self.max_atoms:
            raise TooManyAtomsError(input_id, f"{len(crystal)} atoms, more than max_atoms={self.max_atoms}")
        self.element_table.lookup(crystal.numbers, input_id)  # rejects elements without features
        if self.charges == "cif" and crystal.charges is None:
            raise MissingChargesError(input_id, "no partial charges (_atom_site_charge) but charges='cif'")

        centers, neighbors, offsets, distances = periodic_neighbors(crystal.lattice, crystal.frac, self.cutoff, input_id)
        if len(distances) and distances.min() < self.min_distance:
            k = int(np.argmin(distances))
            raise OverlappingAtomsError(
                input_id, f"atoms {centers[k]} and {neighbors[k]} are {distances[k]:.3f} Å apart "
                f"(min_distance={self.min_distance})")
        # Nearest first within each centre, in one stable sort of a combined key (ties keep the
        # neighbour search's own deterministic order); a six-key lexsort cost half of the graph time.
        order = np.argsort(centers * (2.0 * self.cutoff + 1.0) + distances, kind="stable")
        centers, neighbors, offsets, distances = centers[order], neighbors[order], offsets[order], distances[order]
        counts = np.bincount(centers, minlength=len(crystal))
        rank = np.arange(len(centers)) - np.repeat(np.cumsum(counts) - counts, counts)
        keep = rank < self.max_neighbors
        if self.isolated == "error" and (counts == 0).any():
            lonely = np.flatnonzero(counts == 0)
            raise IsolatedAtomError(
                input_id, f"{len(lonely)} atom(s) without a neighbour within {self.cutoff} Å "
                f"(first: atom {lonely[0]}, {elements.symbol(int(crystal.numbers[lonely[0]]))})")

        charges = self._charges(crystal)
        data = Data(
            z=torch.from_numpy(crystal.numbers),
            pos=torch.from_numpy(crystal.cart.astype(np.float32)),
            lattice=torch.from_numpy(crystal.lattice.astype(np.float32)).unsqueeze(0),
            edge_index=torch.from_numpy(np.stack([neighbors[keep], centers[keep]])),
            pbc_offset=torch.from_numpy(offsets[keep]),
            edge_dist=torch.from_numpy(distances[keep].astype(np.float32)),
            id=input_id,
        )
        if charges is not None:
            data.charge = torch.from_numpy(charges.astype(np.float32))
        if self.descriptors:
            data.descriptors = self._descriptors(Crystal(input_id, crystal.lattice, crystal.frac, crystal.numbers, charges))
        return data

    def _descriptors(self, crystal: Crystal) -> torch.Tensor:
        """``[1, K]`` global descriptors; one that is not finite rejects the structure (``DescriptorError``)."""
        values = np.concatenate([calculator(crystal) for calculator in self.descriptor_calculators])
        if not np.isfinite(values).all():
            bad = [name for name, value in zip(self.descriptor_names, values) if not np.isfinite(value)]
            raise DescriptorError(crystal.id, f"descriptors that are not finite: {', '.join(bad)}")
        return torch.from_numpy(values.astype(np.float32)).unsqueeze(0)

    def _charges(self, crystal: Crystal) -> np.ndarray | None:
        if self.charges == "cif":
            return crystal.charges
        if self.charges == "eqeq":
            return EQeq()(crystal)  # raises ChargeEquilibrationError, an InvalidInputError naming the structure
        if self.charges == "learned":
            return LearnedCharges(self.charge_model)(crystal)  # raises as EQeq does
        return None

    def expand(self, data: Data) -> Data:
        """Add ``x`` (element features of ``z``) and ``edge_attr`` (Gaussian-expanded ``edge_dist``).

        Works on one graph or a whole ``Batch``; returns a shallow copy.
        """
        out = copy.copy(data)
        table = torch.from_numpy(self.element_table.features)
        out.x = table[data.z]
        out.edge_attr = self.gaussian(data.edge_dist)
        return out

    @classmethod
    def read_many(cls, sources: Sequence, ids: Sequence[object]) -> tuple[list, list[InvalidInputError]]:
        """The ``Crystal`` of each source (None where it cannot be read) and one error per unreadable source."""
        crystals, rejects = [], []
        for source, input_id in zip(sources, ids):
            try:
                crystals.append(read_crystal(source, input_id))
            except InvalidInputError as error:
                crystals.append(None)
                rejects.append(error.detached())
        return crystals, rejects

    def featurize_many(self, sources: Sequence, ids: Sequence[object]) -> tuple[Collated, list[InvalidInputError]]:
        """Compact graphs of many structures (any crystal record, see ``graph``), collated, and one error per reject."""
        graphs, rejects = [], []
        for source, input_id in zip(sources, ids):
            try:
                graphs.append(self.graph(source, input_id))
            except InvalidInputError as error:
                rejects.append(error.detached())
        return Collated.from_graphs(graphs), rejects


def _settings_key(descriptors: tuple[str, ...], settings) -> tuple | None:
    """``settings`` (a mapping of set name -> arguments, or this key) as a hashable key of the non-default arguments.

    Settings of a known set that is not among ``descriptors`` change nothing and are dropped (``limited_to``
    removes the descriptors of a model that does not read them, not their settings).
    """
    if not settings:
        return None
    settings = {name: dict(values) for name, values in dict(settings).items()}
    unknown_sets = sorted(set(settings) - set(DESCRIPTOR_SETS))
    if unknown_sets:
        raise ConfigError(f"descriptor_settings for {unknown_sets}: not descriptor sets; known: {sorted(DESCRIPTOR_SETS)}")
    key = []
    for name in descriptors:
        calculator = DESCRIPTOR_SETS[name]
        arguments = {f.name: f.default for f in fields(calculator)}
        unknown = sorted(set(settings.get(name, {})) - set(arguments))
        if unknown:
            raise ConfigError(f"descriptor_settings of {name!r}: unknown {unknown}; known: {sorted(arguments)}")
        calculator(**settings.get(name, {}))  # checks the values
        changed = tuple(sorted((k, v) for k, v in settings.get(name, {}).items() if v != arguments[k]))
        if changed:
            key.append((name, changed))
    return tuple(key) or None
