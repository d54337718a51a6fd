"""Typed config files: read a TOML or JSON file into a dict, and refuse keys a config dataclass does not have."""

from __future__ import annotations

import json
import tomllib
from dataclasses import fields
from pathlib import Path

from molgnn.errors import ConfigError


def read_config_file(path: str | Path, what: str) -> dict:
    """The values of a TOML (by extension) or JSON file; ``ConfigError`` names a file that cannot be read."""
    path = Path(path)
    try:
        text = path.read_text()
        return tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as error:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ConfigError(f"cannot read the {what} config {path}: {error}") from error


def refuse_unknown_keys(cls, values: dict, what: str) -> None:
    """``ConfigError`` listing the keys of ``values`` that are no field of the dataclass ``cls``."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {what} config key(s) {unknown}; valid: {sorted(known)}")
