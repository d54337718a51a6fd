"""Rebuild a featurizer from its saved ``config()`` (checkpoints, cached datasets)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from molgnn.errors import ConfigError


def featurizer_from_config(config: dict, base_dir: str | Path | None = None):
    """The featurizer that ``config`` describes.

    A relative ``element_features`` path (an ``atom_init.json`` stored in a run folder) is
    resolved against ``base_dir``, and its content must match the saved hash.
    """
    values = dict(config)
    kind = values.pop("type", None)
    if kind == "MoleculeFeaturizer":
        from molgnn.featurize.molecule import MoleculeFeaturizer

        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return MoleculeFeaturizer(**values)
    if kind == "CrystalFeaturizer":
        from molgnn.featurize.crystal import CrystalFeaturizer

        digest = values.pop("element_features_sha256", None)
        if values.get("element_features", "cgcnn") != "cgcnn":
            path = Path(values["element_features"])
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            if digest and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                raise ConfigError(f"{path} differs from the atom_init.json the featurizer was configured with")
            values["element_features"] = str(path)
        return CrystalFeaturizer(**values)
    raise ConfigError(f"unknown featurizer type {kind!r} in config")
