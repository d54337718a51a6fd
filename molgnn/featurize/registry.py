"""The registered featurizers: by the ``type`` of their config, by kind, and by the records they accept.

Classes are imported when first asked for, so that reading a molecule config does not import the
crystal stack (gemmi, pymatgen) and the other way round. A new featurizer is one entry here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from molgnn.errors import ConfigError, UnknownNameError
from molgnn.featurize.base import CRYSTALS, MOLECULES, Featurizer

# config "type" -> (module, kind); the order is the order in which ``kind_of_record`` asks them
FEATURIZERS = {
    "CrystalFeaturizer": ("molgnn.featurize.crystal", CRYSTALS),
    "MoleculeFeaturizer": ("molgnn.featurize.molecule", MOLECULES),
}


class UnknownFeaturizerError(UnknownNameError):
    """A featurizer type or kind that is not registered; the message lists the registered ones."""


def featurizer_class(name: str) -> type[Featurizer]:
    """The featurizer class whose ``config()["type"]`` is ``name``."""
    if name not in FEATURIZERS:
        raise UnknownFeaturizerError(f"unknown featurizer type {name!r}; registered: {', '.join(FEATURIZERS)}")
    return getattr(importlib.import_module(FEATURIZERS[name][0]), name)


def featurizer_for_kind(kind: str) -> type[Featurizer]:
    """The featurizer class of ``kind`` (``"molecules"`` or ``"crystals"``)."""
    for name, (_, registered) in FEATURIZERS.items():
        if registered == kind:
            return featurizer_class(name)
    raise UnknownFeaturizerError(f"no featurizer for {kind!r}; kinds: {', '.join(k for _, k in FEATURIZERS.values())}")


def featurizer_from_config(config: dict, base_dir: str | Path | None = None) -> Featurizer:
    """The featurizer that a saved ``config()`` describes (dataset caches, run folders in ``base_dir``)."""
    if "type" not in config:
        raise ConfigError(f"a featurizer config needs its 'type', got keys {sorted(config)}")
    return featurizer_class(config["type"]).from_config(config, base_dir)


def kind_of_record(record: object) -> str:
    """The kind of the first registered featurizer that accepts ``record`` (a SMILES, a CIF path, a Structure...)."""
    for name, (_, kind) in FEATURIZERS.items():
        if featurizer_class(name).accepts(record):
            return kind
    raise ConfigError(f"no featurizer takes a {type(record).__name__} ({record!r:.60}); give SMILES strings, "
                      "CIF paths or pymatgen Structures")
