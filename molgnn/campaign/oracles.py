"""Oracles: the simulations a campaign steers. Each takes one candidate (its id and its source: a CIF path or
a SMILES) and returns a number, or fails with a reason.

- ``lookup``: the value of a table of finished simulations (replaying a known data set);
- ``henry``: molgnn's own CO2 Henry coefficient, ``log10`` mol/(kg Pa), from Widom insertions
  (``molgnn.chem.host_guest``), on the CIF's partial charges or, where it has none, EQeq's. Pockets
  too small to reach are not blocked (as GCMC codes can), so a structure with small, strongly
  binding pockets gets a far higher value than its measured uptake suggests (FUDQIF of crafted726:
  -0.8, where most MOFs are near -5);
- ``function``: a user function named ``module:function``, called with ``(source, candidate_id)``;
- ``command``: a shell command template (e.g. a GCMC run) with ``{source}`` and ``{id}`` fields; its
  last line of output is the value, a non-zero exit status or a line that is no number is a failure.

``call_oracle`` never raises for the candidate's sake: any failure, and a run longer than its time
budget, becomes an ``Outcome`` with the status ``failed`` or ``timeout`` and the reason, so that one
simulation cannot stall a campaign.
"""

from __future__ import annotations

import importlib
import math
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from molgnn.errors import ConfigError, MolgnnError
from molgnn.workers import RecordTimeoutError, record_time_limit

ORACLES = ("lookup", "henry", "function", "command")


class OracleError(MolgnnError):
    """A simulation that gave no value for a candidate (the message is the reason)."""


@dataclass(frozen=True)
class Outcome:
    """What one oracle call gave: ``value`` (None unless ``status`` is ``ok``), the ``reason`` of a failure, the time."""

    candidate: str
    status: str
    value: float | None
    reason: str
    seconds: float


def make_oracle(kind: str, **options):
    """The oracle ``kind`` (``ORACLES``) with its options; unknown options are a ``ConfigError``."""
    makers = {"lookup": LookupOracle, "henry": HenryOracle, "function": FunctionOracle, "command": CommandOracle}
    if kind not in makers:
        raise ConfigError(f"unknown oracle {kind!r}; choose from {', '.join(ORACLES)}")
    try:
        return makers[kind](**options)
    except TypeError as error:
        raise ConfigError(f"oracle {kind!r}: {error}") from None


def oracle_from_config(config: dict):
    """The oracle a campaign config's ``oracle`` table describes: ``{"kind": ..., **options}``."""
    options = dict(config)
    return make_oracle(options.pop("kind", None), **options)


def call_oracle(oracle, candidate: str, source: str, seconds: float | None = None) -> Outcome:
    """``oracle(source, candidate)`` as an ``Outcome``; longer than ``seconds`` (main thread only): ``timeout``."""
    start = time.perf_counter()
    try:
        with record_time_limit(seconds):
            value = float(oracle(source, candidate))
        if not math.isfinite(value):
            raise OracleError(f"the oracle returned {value}")
    except RecordTimeoutError as error:
        return Outcome(candidate, "timeout", None, str(error), time.perf_counter() - start)
    except Exception as error:  # any failure of a simulation is that candidate's reason
        return Outcome(candidate, "failed", None, f"{type(error).__name__}: {error}", time.perf_counter() - start)
    return Outcome(candidate, "ok", value, "", time.perf_counter() - start)


@dataclass(frozen=True)
class LookupOracle:
    """Values of ``column`` in the table ``table`` (CSV or Parquet), by the candidate id in ``id_column``."""

    table: str
    column: str
    id_column: str = "id"

    def __post_init__(self):
        import pandas as pd

        path = Path(self.table)
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        for name in (self.id_column, self.column):
            if name not in frame.columns:
                raise ConfigError(f"lookup table {path}: no column {name!r} (it has {', '.join(map(str, frame.columns))})")
        object.__setattr__(self, "_values", dict(zip(frame[self.id_column].astype(str), frame[self.column])))

    @property
    def values(self) -> dict[str, float]:
        """The whole table, id -> value."""
        return dict(self._values)

    def __call__(self, source: str, candidate: str) -> float:
        if candidate not in self._values:
            raise OracleError(f"{candidate!r} is not in the lookup table {self.table}")
        return self._values[candidate]


@dataclass(frozen=True)
class HenryOracle:
    """CO2 Henry coefficient, ``log10`` mol/(kg Pa), of a CIF by Widom insertions (``HostGuestEnergies`` options)."""

    temperature: float = 298.0
    insertions: int = 3000
    seed: int = 0

    def warm(self) -> None:
        """Import what a simulation needs (torch among it: about a second), so that the first call times a simulation."""
        import molgnn.chem.charge_equilibration  # noqa: F401
        import molgnn.chem.crystal  # noqa: F401
        import molgnn.chem.host_guest  # noqa: F401

    def __call__(self, source: str, candidate: str) -> float:
        from dataclasses import replace

        from molgnn.chem.charge_equilibration import EQeq
        from molgnn.chem.crystal import read_crystal
        from molgnn.chem.host_guest import HostGuestEnergies

        crystal = read_crystal(source, candidate)
        if crystal.charges is None:
            crystal = replace(crystal, charges=EQeq()(crystal))
        energies = HostGuestEnergies(temperature=self.temperature, insertions=self.insertions, seed=self.seed)
        return energies.analyse(crystal)["log10_henry"]


@dataclass(frozen=True)
class FunctionOracle:
    """A user function ``module:function`` called as ``function(source, candidate_id) -> float``."""

    function: str

    def __post_init__(self):
        module, _, name = self.function.partition(":")
        if not module or not name:
            raise ConfigError(f"oracle function {self.function!r}: expected 'module:function'")
        try:
            target = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as error:
            raise ConfigError(f"oracle function {self.function!r}: {error}") from None
        object.__setattr__(self, "_target", target)

    def __call__(self, source: str, candidate: str) -> float:
        return self._target(source, candidate)


@dataclass(frozen=True)
class CommandOracle:
    """A command template such as ``"gcmc --cif {source} --name {id}"``, run without a shell; its last output line is
    the value. ``seconds`` bounds the command's run (the process is killed after it)."""

    template: str
    seconds: float | None = None

    def __post_init__(self):
        try:
            shlex.split(self.template.format(source="x", id="x"))
        except (KeyError, IndexError, ValueError) as error:
            raise ConfigError(f"oracle command {self.template!r}: fields are {{source}} and {{id}} ({error})") from None

    def __call__(self, source: str, candidate: str) -> float:
        argv = shlex.split(self.template.format(source=shlex.quote(str(source)), id=shlex.quote(str(candidate))))
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=self.seconds)
        except subprocess.TimeoutExpired:
            raise RecordTimeoutError(f"{argv[0]} took more than {self.seconds:g} s") from None
        except OSError as error:
            raise OracleError(f"{argv[0]}: {error}") from None
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or [""])[-1]
            raise OracleError(f"{argv[0]} exited with {done.returncode}: {tail}")
        lines = done.stdout.strip().splitlines()
        try:
            return float(lines[-1])
        except (IndexError, ValueError):
            raise OracleError(f"{argv[0]}: the last line of its output is no number: {lines[-1] if lines else ''!r}") from None
