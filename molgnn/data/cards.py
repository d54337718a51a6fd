"""The registry of dataset cards (``datasets/*.toml``, installed as ``molgnn.cards``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from molgnn.errors import ConfigError, UnknownNameError
from molgnn.featurize.base import KINDS
from molgnn.tasks import TASKS


class UnknownDatasetError(UnknownNameError):
    """A dataset name that is not registered; the message lists the registered names."""


@dataclass(frozen=True)
class DatasetCard:
    """What a registered set is and how its files are read (see ``datasets/README.md``)."""

    name: str
    title: str
    kind: str
    task: str
    size: int
    licence: str
    citation: str
    source: str
    description: str
    loader: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS or self.task not in TASKS:
            raise ConfigError(f"card {self.name}: kind must be one of {KINDS} and task one of {TASKS}")
        if "type" not in self.loader or "path" not in self.loader:
            raise ConfigError(f"card {self.name}: [loader] needs type and path")


def _cards_folder():
    try:
        return resources.files("molgnn.cards")
    except ModuleNotFoundError:  # a source checkout on sys.path, not installed: cards sit beside the package
        return Path(__file__).resolve().parents[2] / "datasets"


def _card_files() -> dict:
    return {p.name[:-5]: p for p in _cards_folder().iterdir() if p.name.endswith(".toml")}


def list_cards() -> list[DatasetCard]:
    """All registered cards, sorted by name."""
    return [get_card(name) for name in sorted(_card_files())]


def get_card(name: str) -> DatasetCard:
    """The card of a registered set; ``UnknownDatasetError`` lists the valid names."""
    files = _card_files()
    if name not in files:
        raise UnknownDatasetError(f"unknown dataset {name!r}; registered: {', '.join(sorted(files))}")
    raw = tomllib.loads(files[name].read_text(encoding="utf-8"))
    known = set(DatasetCard.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"card {name}: unknown keys {sorted(unknown)}")
    return DatasetCard(**raw)
