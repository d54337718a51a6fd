"""The typed config of a steered campaign (a TOML or JSON file, or keyword arguments); unknown keys are rejected.

    pool = "crafted726"                    # what molgnn.data.load_dataset reads (a registered name, a CGCNN
    pool_options = { pressures = [1.0] }   #   folder, a CSV of SMILES), featurized once and cached
    featurizer = { descriptors = ["pores", "energies"] }   # fields of the pool's featurizer
    oracle = { kind = "lookup", table = "uptake.csv", column = "uptake" }
    oracle_seconds = 600                   # a call running longer is recorded as a timeout
    surrogate = { kind = "forest", trees = 200 }           # or { kind = "ensemble", model = "...", members = 3,
                                                           #      config = { epochs = 40, ... } }
    acquisition = "ucb"                    # greedy, ucb (beta), ei (xi), thompson, random
    batch_size = 10
    min_distance = 1.0                     # optional: no two picks of a batch closer (standardized descriptors)
    budget = 150                           # oracle calls in all, the initial picks included
    initial = 30                           # k random picks, a list of ids, or a table (id, value) of known results
    objective = "maximize"
    top_fraction = 0.05                    # the discovery curve's top set, where the oracle is a lookup table
    prefetch = 1                           # batches picked ahead, so simulations never wait for retraining
    workers = 1                            # oracle calls at a time
    seed = 0
    parsl_config = "cluster.py"            # optional: a Parsl Config (executors "simulation" and "learning")

Relative paths in a config file are read from the file's folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from molgnn.campaign.acquisition import ACQUISITIONS
from molgnn.campaign.oracles import ORACLES
from molgnn.config_files import read_config_file, refuse_unknown_keys
from molgnn.errors import ConfigError

SURROGATES = ("forest", "ensemble")
OBJECTIVES = ("maximize", "minimize")
PATH_KEYS = {"oracle": ("table",)}  # oracle options that name files, resolved against the config file's folder


@dataclass
class CampaignConfig:
    """A campaign: which pool, which oracle, which surrogate and acquisition, how many calls (module docstring)."""

    pool: str
    oracle: dict
    pool_options: dict = field(default_factory=dict)
    featurizer: dict = field(default_factory=dict)
    oracle_seconds: float | None = None
    surrogate: dict = field(default_factory=lambda: {"kind": "forest"})
    acquisition: str = "ucb"
    beta: float = 2.0
    xi: float = 0.0
    batch_size: int = 10
    min_distance: float | None = None
    budget: int = 100
    initial: int | str | list = 10
    objective: str = "maximize"
    top_fraction: float = 0.05
    prefetch: int = 1
    workers: int = 1
    seed: int = 0
    parsl_config: str | None = None

    def __post_init__(self):
        if not isinstance(self.oracle, dict) or self.oracle.get("kind") not in ORACLES:
            raise ConfigError(f"oracle must be a table with a kind of {', '.join(ORACLES)}, got {self.oracle!r}")
        if not isinstance(self.surrogate, dict) or self.surrogate.get("kind") not in SURROGATES:
            raise ConfigError(f"surrogate must be a table with a kind of {', '.join(SURROGATES)}, got {self.surrogate!r}")
        if self.acquisition not in ACQUISITIONS:
            raise ConfigError(f"unknown acquisition {self.acquisition!r}; choose from {', '.join(ACQUISITIONS)}")
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        for name, least in (("batch_size", 1), ("budget", 1), ("workers", 1), ("prefetch", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"{name} must be a whole number >= {least}, got {value!r}")
        if isinstance(self.initial, bool) or not isinstance(self.initial, (int, str, list)):
            raise ConfigError(f"initial must be a count, a list of ids or a table path, got {self.initial!r}")
        if isinstance(self.initial, int) and not 1 <= self.initial <= self.budget:
            raise ConfigError(f"initial picks must be between 1 and the budget ({self.budget}), got {self.initial}")
        if not 0 < self.top_fraction < 1:
            raise ConfigError(f"top_fraction must be between 0 and 1, got {self.top_fraction}")
        for name in ("oracle_seconds", "min_distance"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and value > 0):
                raise ConfigError(f"{name} must be a positive number, got {value!r}")

    @property
    def maximize(self) -> bool:
        return self.objective == "maximize"

    @classmethod
    def from_dict(cls, values: dict, base_dir: str | Path | None = None) -> CampaignConfig:
        refuse_unknown_keys(cls, values, "campaign")
        missing = sorted({"pool", "oracle"} - set(values))
        if missing:
            raise ConfigError(f"a campaign config needs {missing}")
        values = dict(values)
        if base_dir is not None:
            values = _resolved(values, Path(base_dir))
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> CampaignConfig:
        """Read a TOML (by extension) or JSON config; relative paths in it are read from its folder."""
        return cls.from_dict(read_config_file(path, "campaign"), Path(path).parent)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))


def _resolved(values: dict, base: Path) -> dict:
    """Paths of the config file (pool, tables, Parsl config, an initial table) made absolute against ``base``."""

    def absolute(text):
        path = Path(text).expanduser()
        return str(path if path.is_absolute() or not (base / path).exists() else (base / path).resolve())

    for key in ("pool", "parsl_config"):
        if isinstance(values.get(key), str):
            values[key] = absolute(values[key])
    if isinstance(values.get("initial"), str):
        values["initial"] = absolute(values["initial"])
    if isinstance(values.get("oracle"), dict):
        values["oracle"] = {k: absolute(v) if k in PATH_KEYS["oracle"] and isinstance(v, str) else v
                            for k, v in values["oracle"].items()}
    return values
