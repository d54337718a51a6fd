"""Loaders of raw files: each returns a ``RecordSet`` of ids, inputs and labels.

``LOADERS`` registers each loader with the kind of records it reads (SMILES strings for
``"molecules"``, CIF paths for ``"crystals"``; the featurizer of that kind takes them), whether its
CIFs carry partial charges, and the files whose sizes and times key the dataset cache: a new
loader is a function and one entry there. Labels are a float array with NaN where a label is
missing; a label cell that is present but not a number, or a label that is infinite, makes its
record a reject (with the reason), it never crashes the load and never becomes a zero.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from molgnn.chem.errors import InvalidLabelError
from molgnn.errors import MolgnnError
from molgnn.featurize.base import CRYSTALS, MOLECULES


class DatasetSpecError(MolgnnError, ValueError):
    """A loader option or file layout that cannot be read (unknown column, pressure, folder)."""


@dataclass
class RecordSet:
    """Records of one dataset, before featurization.

    ``rejects`` and ``excluded`` hold ``(id, reason)`` for records dropped at this stage: rejects
    are bad records, excluded ones are removed on purpose (e.g. flagged upstream).
    """

    ids: list[str]
    inputs: list
    y: np.ndarray  # [n, T] float, NaN = missing
    targets: list[str]
    units: dict[str, str]
    files: list[Path] = field(default_factory=list)
    rejects: list[tuple[str, str]] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def _labels(frame: pd.DataFrame, targets: list[str], ids: list[str]) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Parse label columns read as text: empty -> NaN, number -> float, anything else -> reject."""
    y = np.full((len(frame), len(targets)), np.nan)
    bad_rows: dict[int, str] = {}
    for j, column in enumerate(targets):
        text = frame[column].astype(str).str.strip()
        values = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=float)
        wrong = np.flatnonzero(np.isnan(values) & (text != "").to_numpy() & ~text.str.lower().isin(["nan", "na"]).to_numpy())
        for row in wrong:
            bad_rows.setdefault(row, f"label {text.iloc[row]!r} in column {column!r} is not a number")
        y[:, j] = values
    rejects = [(ids[row], InvalidLabelError(ids[row], reason).reason) for row, reason in sorted(bad_rows.items())]
    return y, rejects + [reject for reject in non_finite_labels(ids, y, targets) if reject[0] not in {ids[r] for r in bad_rows}]


def non_finite_labels(ids: list[str], y: np.ndarray, targets: list[str]) -> list[tuple[str, str]]:
    """``(id, reason)`` for each record whose labels (``[n, T]``, NaN = missing) hold ``inf`` or ``-inf``.

    An infinite label is no measurement: it would turn a class task into a regression and the
    loss into NaN, so its record is rejected like a label that is not a number.
    """
    rows, columns = np.nonzero(np.isinf(np.asarray(y, dtype=float)))
    first = dict(zip(rows[::-1].tolist(), columns[::-1].tolist()))  # each row's first infinite column
    return [(ids[row], InvalidLabelError(ids[row], f"label {y[row, column]} in column {targets[column]!r} is not finite").reason)
            for row, column in sorted(first.items())]


def without_rejects(records: RecordSet, rejects: list[tuple[str, str]]) -> RecordSet:
    """``records`` without the records named in ``rejects``, which are added to ``records.rejects``."""
    rejected = {record_id for record_id, _ in rejects}
    kept = _keep(records, np.array([i for i, r in enumerate(records.ids) if r not in rejected], dtype=int))
    kept.rejects = list(kept.rejects) + list(rejects)
    return kept


def _keep(records: RecordSet, rows: np.ndarray) -> RecordSet:
    records.ids = [records.ids[i] for i in rows]
    records.inputs = [records.inputs[i] for i in rows]
    records.y = records.y[rows]
    return records


def smiles_csv(path: Path, smiles_column: str = "smiles", targets: list[str] | None = None,
               id_column: str | None = None, columns: list[str] | None = None, units: str | dict = "") -> RecordSet:
    """A CSV (optionally gzipped) of SMILES and target columns."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DatasetSpecError(f"cannot read {path}: {error}") from error
    if columns is not None:
        if len(columns) != frame.shape[1]:
            raise DatasetSpecError(f"{path}: {len(columns)} column names given for {frame.shape[1]} columns")
        frame.columns = columns
    for needed in [smiles_column, id_column, *(targets or [])]:
        if needed is not None and needed not in frame.columns:
            raise DatasetSpecError(f"{path}: no column {needed!r}; columns are {list(frame.columns)}")
    if targets is None:
        targets = [c for c in frame.columns if c not in (smiles_column, id_column)]
    ids = frame[id_column].tolist() if id_column else [str(i) for i in range(len(frame))]
    duplicated = pd.Index(ids).duplicated()
    if duplicated.any():
        raise DatasetSpecError(f"{path}: id column {id_column!r} has duplicates, e.g. {ids[int(np.argmax(duplicated))]!r}")
    y, rejects = _labels(frame, targets, ids)
    unit_map = units if isinstance(units, dict) else {t: units for t in targets}
    return without_rejects(RecordSet(ids, frame[smiles_column].tolist(), y, targets, unit_map, files=[Path(path)]), rejects)


HENRY_CHOICES = ("none", "linear", "log10")


def _henry_target(henry: str, prefix: str, units: str) -> tuple[list[str], dict[str, str]]:
    """Name and unit of the Henry-regime target (none, K_H, or log10 K_H)."""
    if henry not in HENRY_CHOICES:
        raise DatasetSpecError(f"henry must be one of {HENRY_CHOICES}, got {henry!r}")
    if henry == "none":
        return [], {}
    name = f"{prefix}_henry" if henry == "linear" else f"{prefix}_log10_henry"
    unit = f"{units}/bar" if henry == "linear" else f"log10({units}/bar)"
    return [name], {name: unit}


def henry_coefficient(pressures: np.ndarray, loadings: np.ndarray, henry: str) -> float:
    """Least-squares slope through the origin of low-pressure loadings (Henry's law), or its log10.

    NaN when there is no point or the slope is not positive (log10 of an empty framework).
    """
    if not len(pressures):
        return math.nan
    slope = float(np.dot(pressures, loadings) / np.dot(pressures, pressures))
    if henry == "log10":
        return math.log10(slope) if slope > 0 else math.nan
    return slope


def crafted726(folder: Path, gas: str = "CO2", temperature: float = 298, pressures: list[float] = (1.0,),
               simulation_id: int = 1, charges: str = "DDEC", exclude_inconsistent: bool = True,
               henry: str = "none", henry_max_pressure: float = 0.005, units: str = "mmol/g",
               names: list[str] | None = None) -> RecordSet:
    """CRAFTED MOFs: CIFs with ``charges`` scheme, uptake of ``gas`` at ``temperature`` (K) and ``pressures`` (bar).

    ``names`` restricts the set to those structures (a name that is not in the set is an error).

    ``henry`` adds a low-pressure target after the pressures: ``"linear"`` the Henry coefficient
    (units/bar, the slope through the origin of the isotherm points at or below
    ``henry_max_pressure`` bar: 0.001, 0.002 and 0.005 bar by default), ``"log10"`` its decimal
    logarithm (Henry coefficients span orders of magnitude).
    """
    cif_dir = folder / "cif" / charges
    if not cif_dir.is_dir():
        choices = sorted(p.name for p in (folder / "cif").iterdir()) if (folder / "cif").is_dir() else []
        raise DatasetSpecError(f"no CIF folder for charges={charges!r}; choose one of {choices}")
    names = _restricted(sorted(p.stem for p in cif_dir.glob("*.cif")), names, "crafted726")
    pressures = [float(p) for p in pressures]
    henry_names, henry_units = _henry_target(henry, f"{gas}_{temperature:g}K", units)
    targets = [f"{gas}_{temperature:g}K_{p:g}bar" for p in pressures] + henry_names
    y = np.full((len(names), len(targets)), np.nan)
    rejects, grid = [], None
    for i, name in enumerate(names):
        isotherm = folder / "isotherms" / f"{name}_{gas}.csv"
        try:
            table = np.loadtxt(isotherm, delimiter=",", skiprows=1, ndmin=2)
        except (OSError, ValueError) as error:
            rejects.append((name, f"cannot read isotherm {isotherm.name}: {error}"))
            continue
        rows = table[(np.abs(table[:, 3] - temperature) < 0.5) & (table[:, 4] == simulation_id)]
        if grid is None and len(rows):
            grid = sorted(set((rows[:, 0] / 1e5).round(6).tolist()))
        for j, bar in enumerate(pressures):
            hit = rows[np.isclose(rows[:, 0], bar * 1e5, rtol=1e-6)]
            if len(hit):
                y[i, j] = hit[0, 1]
        if henry_names:
            low = rows[rows[:, 0] <= henry_max_pressure * 1e5 * (1 + 1e-9)]
            y[i, -1] = henry_coefficient(low[:, 0] / 1e5, low[:, 1], henry)
    if grid is None:
        raise DatasetSpecError(f"no {gas} isotherm at {temperature} K with simulation_id={simulation_id}")
    missing = [p for p in pressures if not any(math.isclose(p, g, rel_tol=1e-6) for g in grid)]
    if missing:
        raise DatasetSpecError(f"pressures {missing} bar are not on the isotherm grid {grid} bar")
    records = RecordSet(names, [cif_dir / f"{n}.cif" for n in names], y, targets,
                        {t: henry_units.get(t, units) for t in targets}, files=[cif_dir, folder / "isotherms"])
    keep = np.ones(len(names), dtype=bool)
    rejected = {r for r, _ in rejects}
    keep[[i for i, n in enumerate(names) if n in rejected]] = False
    if exclude_inconsistent:
        flagged = set((folder / "structurally_inconsistent_MOFs.txt").read_text().split())
        records.excluded = [(n, "flagged structurally inconsistent upstream") for n in names if n in flagged]
        keep &= np.array([n not in flagged for n in names])
    records = _keep(records, np.flatnonzero(keep))
    records.rejects = rejects
    return records


def hmof100(folder: Path, pressures: list[float] = (0.01, 0.05, 0.1, 0.5, 2.5), henry: str = "none",
            units: str = "mol/kg", names: list[str] | None = None) -> RecordSet:
    """Hypothetical MOFs: CIFs without charges and CO2 uptake at ``pressures`` (bar), 298 K.

    ``henry`` (``"linear"`` or ``"log10"``) adds the low-pressure target uptake(0.01 bar) / 0.01 bar
    (the lowest pressure simulated, a one-point Henry coefficient) or its log10. ``names`` restricts
    the set to those structures.
    """
    names = _restricted(sorted(p.stem for p in (folder / "cif").glob("*.cif")), names, "hmof100")
    henry_names, henry_units = _henry_target(henry, "CO2_298K", units)
    targets = [f"CO2_298K_{float(p):g}bar" for p in pressures] + henry_names
    y = np.full((len(names), len(targets)), np.nan)
    row = {n: i for i, n in enumerate(names)}
    for j, bar in enumerate(pressures):
        path = folder / f"co2_{float(bar):g}bar.csv"
        if not path.exists():
            available = sorted(p.name for p in folder.glob("co2_*bar.csv"))
            raise DatasetSpecError(f"no uptake file for {bar} bar ({path.name}); available: {available}")
        frame = pd.read_csv(path, header=None, names=["name", "uptake"], dtype={"name": str})
        for name, value in zip(frame["name"], frame["uptake"]):
            if name in row:
                y[row[name], j] = value
    if henry_names:
        lowest = folder / "co2_0.01bar.csv"
        frame = pd.read_csv(lowest, header=None, names=["name", "uptake"], dtype={"name": str})
        for name, value in zip(frame["name"], frame["uptake"]):
            if name in row:
                y[row[name], -1] = henry_coefficient(np.array([0.01]), np.array([float(value)]), henry)
    return RecordSet(names, [folder / "cif" / f"{n}.cif" for n in names], y, targets,
                     {t: henry_units.get(t, units) for t in targets}, files=[folder])


def _restricted(available: list[str], names: list[str] | None, dataset: str) -> list[str]:
    """``available`` (sorted), or only ``names`` of it; a name it does not hold is a ``DatasetSpecError``."""
    if names is None:
        return available
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise DatasetSpecError(f"names not in {dataset}: {unknown[:5]}{' ...' if len(unknown) > 5 else ''}")
    return sorted(set(names))


def cgcnn_folder(folder: Path, units: str = "") -> RecordSet:
    """A folder in CGCNN's format: ``id_prop.csv`` (no header: id, targets...) and ``<id>.cif`` files."""
    id_prop = folder / "id_prop.csv"
    if not id_prop.exists():
        raise DatasetSpecError(f"{folder} is not a CGCNN folder: no id_prop.csv")
    frame = pd.read_csv(id_prop, header=None, dtype=str, keep_default_na=False)
    frame.columns = ["id"] + [f"target_{k}" for k in range(frame.shape[1] - 1)]
    ids = frame["id"].str.strip().tolist()
    targets = list(frame.columns[1:])
    y, rejects = _labels(frame, targets, ids)
    return without_rejects(RecordSet(ids, [folder / f"{i}.cif" for i in ids], y, targets, {t: units for t in targets},
                                     files=[folder]), rejects)


def _the_path(path: Path, options: dict) -> list[Path]:
    return [path]


def _crafted726_sources(folder: Path, options: dict) -> list[Path]:
    return [folder / "cif" / options.get("charges", "DDEC"), folder / "isotherms", folder / "structurally_inconsistent_MOFs.txt"]


@dataclass(frozen=True)
class Loader:
    """A registered loader: ``read(path, **options) -> RecordSet`` and what it reads.

    ``kind``: the records' kind (``molgnn.featurize.base.KINDS``), which picks the featurizer.
    ``charges_in_files``: its CIFs carry partial charges (read by default, ``charges="cif"``).
    ``sources(path, options)``: the files and folders it reads, whose sizes and times key the cache.
    """

    read: Callable[..., RecordSet]
    kind: str
    charges_in_files: bool = False
    sources: Callable[[Path, dict], list[Path]] = _the_path

    def options(self) -> set[str]:
        """The options ``read`` takes (its keyword arguments besides the path)."""
        return set(inspect.signature(self.read).parameters) - {"path", "folder"}


LOADERS = {
    "smiles_csv": Loader(smiles_csv, MOLECULES),
    "crafted726": Loader(crafted726, CRYSTALS, charges_in_files=True, sources=_crafted726_sources),
    "hmof100": Loader(hmof100, CRYSTALS),
    "cgcnn_folder": Loader(cgcnn_folder, CRYSTALS),
}
