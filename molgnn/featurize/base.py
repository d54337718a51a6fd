"""The contract every featurizer keeps, so that callers ask the featurizer instead of guessing.

A featurizer is a small frozen dataclass whose fields are its whole configuration. Dataset builds,
screening, prediction, the API and the command line use only what ``Featurizer`` declares:

- ``kind`` (``"molecules"`` or ``"crystals"``) says which records it takes: SMILES strings for
  molecules; for crystals a CIF path, a ``molgnn.chem.crystal.CifText`` (a CIF held in memory), a
  pymatgen ``Structure`` or a ``molgnn.chem.crystal.Crystal``. ``accepts(record)`` tells them apart.
- ``featurize_many(records, ids) -> (graphs, rejects)``: the compact graphs of the records that
  worked, collated (``molgnn.featurize.collated.Collated``), and one ``InvalidInputError`` naming
  each rejected record and the reason; one bad record never stops the others. ``expand`` turns
  compact graphs (or a whole batch of them) into model inputs.
- ``read_many(records, ids)``: the parsing that does not depend on the settings, done once for
  all featurizers of one kind (a screen of an ensemble); ``featurize_many`` takes its output too.
- ``config()`` / ``from_config(config)``: the JSON that keys dataset caches and goes into run
  folders, and back (``molgnn.featurize.registry.featurizer_from_config`` picks the class).
- ``chunk_size``: records per unit of parallel work and of resuming, in builds and screens.
- ``provides``: the optional parts its graphs carry, of ``GRAPH_PARTS``: partial charges
  (``data.charge``), a fingerprint (``data.fp``) and global descriptors (``data.descriptors``,
  ``[1, K]``, named by ``descriptor_names``); models say which parts they require, and
  ``graph_dims()`` gives the input sizes a model is built with.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, ClassVar

from molgnn.chem.errors import InvalidInputError

if TYPE_CHECKING:  # for annotations only: the kinds and parts above are read without importing torch
    from torch_geometric.data import Data

    from molgnn.featurize.collated import Collated

MOLECULES, CRYSTALS = "molecules", "crystals"
KINDS = (MOLECULES, CRYSTALS)
# optional part of a graph -> the attribute of ``torch_geometric.data.Data`` that holds it
GRAPH_PARTS = {"charges": "charge", "fingerprint": "fp", "descriptors": "descriptors"}


class Featurizer:
    """Base of the featurizers: the contract above, and its parts that every featurizer shares.

    Subclasses are frozen dataclasses and set ``kind``, ``chunk_size``, ``hints`` (per part of
    ``GRAPH_PARTS``, the setting that adds it, for error messages) and ``part_settings`` (per part,
    the field and the value that leave it out); they implement ``featurize_many``, ``expand``,
    ``accepts`` and the feature names and sizes.
    """

    kind: ClassVar[str]
    chunk_size: ClassVar[int]
    hints: ClassVar[dict[str, str]] = {}
    part_settings: ClassVar[dict[str, tuple[str, object]]] = {}

    def limited_to(self, parts) -> Featurizer:
        """This featurizer without the optional parts it provides that are not in ``parts`` (a model's ``requires``).

        A model predicts the same from graphs without the parts it does not read, and a record that
        lacks one of them (a CIF without partial charges for a model that does not read charges) is
        no longer rejected for it; the steps that compute them are skipped.
        """
        kept = set(parts)
        for part in set(parts) & self.provides:
            kept |= self.parts_needed_by(part)
        dropped = {field: off for part, (field, off) in self.part_settings.items() if part in self.provides and part not in kept}
        return dataclasses.replace(self, **dropped) if dropped else self

    def parts_needed_by(self, part: str) -> frozenset[str]:
        """The other parts that computing ``part`` uses (kept by ``limited_to`` whenever ``part`` is)."""
        return frozenset()

    @classmethod
    def accepts(cls, record: object) -> bool:
        """Whether ``record`` is one of the record types of this featurizer's kind."""
        raise NotImplementedError

    @classmethod
    def default(cls, charges_in_files: bool = False) -> Featurizer:
        """The featurizer a dataset gets when none is given (``charges_in_files``: its inputs carry partial charges)."""
        return cls()

    @classmethod
    def read_many(cls, records: Sequence, ids: Sequence[object]) -> tuple[list, list[InvalidInputError]]:
        """The records parsed as far as every featurizer of this kind parses them alike.

        Returns a list aligned with ``records`` (None where rejected) and the rejects. The base
        parses nothing: its ``featurize_many`` parses in batches.
        """
        return list(records), []

    def featurize_many(self, records: Sequence, ids: Sequence[object]) -> tuple[Collated, list[InvalidInputError]]:
        raise NotImplementedError

    def expand(self, data: Data) -> Data:
        raise NotImplementedError

    @property
    def num_atom_features(self) -> int:
        raise NotImplementedError

    @property
    def num_edge_features(self) -> int:
        raise NotImplementedError

    @property
    def provides(self) -> frozenset[str]:
        """The optional parts of ``GRAPH_PARTS`` that this featurizer's graphs carry."""
        return frozenset()

    @property
    def descriptor_names(self) -> list[str]:
        """Names of the global descriptors in ``data.descriptors`` (none without a descriptor step)."""
        return []

    def graph_dims(self) -> dict[str, int]:
        """Input sizes of a model on these graphs: ``node_dim``, ``edge_dim`` and, with those parts, ``descriptor_dim``."""
        dims = {"node_dim": self.num_atom_features, "edge_dim": self.num_edge_features}
        if "descriptors" in self.provides:
            dims["descriptor_dim"] = len(self.descriptor_names)
        return dims

    def config(self) -> dict:
        """The full configuration, JSON-ready; it keys dataset caches and goes into run folders."""
        return json.loads(json.dumps({"type": type(self).__name__, **asdict(self)}))

    @classmethod
    def from_config(cls, config: dict, base_dir=None) -> Featurizer:
        """The featurizer ``config`` (from ``config()``) describes; JSON lists become the tuples they were.

        ``base_dir`` is the folder the config was saved in (a run folder), for settings that are paths.
        """
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if k != "type"})
