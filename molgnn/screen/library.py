"""Candidate libraries read as streams of records, never loaded whole.

A record is ``(index, id, source, payload)``: its position in the library (which keys resume and
sharding), its id, where it came from (the SMILES itself, a file path or an archive member) and
what the worker featurizes, a record of the library's kind (``molgnn.featurize.base``): a SMILES
string, the ``Path`` of a CIF file, or a CIF's text as a ``CifText``.

Libraries: a folder of CIF files (recursive, in sorted order), a tar (``.tar``, ``.tar.gz``,
``.tgz``, ``.tar.xz``, ``.tar.bz2``) or zip archive of CIFs, one CIF file, a CSV / SMI / Parquet
file of SMILES, the CoRE MOF 2019 database of the optional ``core-mof`` package (``core-mof``,
``core-mof:2019-ASR``, ``core-mof:2019-FSR`` or ``core-mof:2014``), and records in memory
(``Library.in_memory``: SMILES, CIF paths, ``CifText``s or pymatgen Structures). This is the one
reader of inputs for screening and prediction: a new format is a reader function here and its
cases in ``Library`` and ``open_library``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import os
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from molgnn.chem.crystal import CifText
from molgnn.errors import MolgnnError
from molgnn.featurize.base import CRYSTALS, MOLECULES

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
SMILES_SUFFIXES = (".csv", ".csv.gz", ".smi", ".smi.gz", ".smiles", ".parquet")
CORE_MOF_SETS = ("2019-ASR", "2019-FSR", "2014")
CORE_MOF_DEFAULT = ("2019-ASR", "2019-FSR")
CSV_CHUNK_ROWS = 8192


class LibraryError(MolgnnError, ValueError):
    """A library that cannot be read: unknown kind, missing file or column, package not installed."""


Record = tuple[int, str, str, object]


@dataclass(frozen=True)
class Library:
    """A readable library; ``records()`` streams it, ``count()`` is a cheap size estimate or None."""

    spec: str
    kind: str
    path: Path | None = None
    smiles_column: str = "smiles"
    id_column: str | None = None
    core_mof_sets: tuple[str, ...] = ()
    items: list[tuple[str, str, object]] | None = field(default=None, repr=False, compare=False)  # in memory

    @classmethod
    def in_memory(cls, records: Sequence, ids: Sequence[object] | None, kind: str) -> Library:
        """A library of ``records`` of ``kind`` held in memory; ids default to the positions."""
        ids = [str(k) for k in range(len(records))] if ids is None else [str(i) for i in ids]
        if len(ids) != len(records):
            raise LibraryError(f"{len(ids)} ids given for {len(records)} records")
        sources = [str(r) if isinstance(r, (str, Path)) else type(r).__name__ for r in records]
        return cls(f"{len(records)} records in memory", kind, items=list(zip(ids, sources, records)))

    def records(self) -> Iterator[Record]:
        if self.items is not None:
            return _enumerate(iter(self.items))
        if self.core_mof_sets:
            return _enumerate(_core_mof(self.core_mof_sets))
        name = self.path.name.lower()
        if self.path.is_dir():
            return _enumerate(_folder(self.path))
        if name.endswith(".cif"):
            return _enumerate(iter([(self.path.stem, str(self.path), self.path)]))
        if name.endswith(TAR_SUFFIXES):
            return _enumerate(_tar(self.path))
        if name.endswith(".zip"):
            return _enumerate(_zip(self.path))
        if name.endswith(".parquet"):
            return _enumerate(_parquet(self.path, self.smiles_column, self.id_column))
        if name.endswith((".smi", ".smi.gz", ".smiles")):
            return _enumerate(_smi(self.path))
        return _enumerate(_csv(self.path, self.smiles_column, self.id_column))

    def count(self) -> int | None:
        """The number of records when it is cheap to know (not for tar archives), else None."""
        if self.items is not None:
            return len(self.items)
        if self.core_mof_sets:  # the package's table lists its structures (an estimate for the progress bar)
            import CoRE_MOF

            return sum(len(CoRE_MOF.list_structures(name)) for name in self.core_mof_sets)
        name = self.path.name.lower()
        if self.path.is_dir():
            return sum(1 for _ in _cif_files(self.path))
        if name.endswith(".cif"):
            return 1
        if name.endswith(".zip"):
            with zipfile.ZipFile(self.path) as archive:
                return sum(1 for info in archive.infolist() if _is_cif_member(info.filename) and not info.is_dir())
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            return pq.ParquetFile(self.path).metadata.num_rows
        if name.endswith(TAR_SUFFIXES):
            return None
        lines = _count_lines(self.path)
        return lines if name.endswith((".smi", ".smi.gz", ".smiles")) else max(lines - 1, 0)

    def identity(self) -> dict:
        """What identifies the library's content for resuming: path, size and modification time."""
        if self.items is not None:
            listed = "\n".join(f"{record_id}\t{source}" for record_id, source, _ in self.items)
            return {"in_memory": len(self.items), "sha256": hashlib.sha256(listed.encode()).hexdigest()}
        if self.core_mof_sets:
            from importlib.metadata import version

            return {"core_mof": list(self.core_mof_sets), "version": version("core-mof")}
        stat = self.path.stat()
        identity = {"path": str(self.path.resolve()), "mtime_ns": stat.st_mtime_ns}
        if self.path.is_file():
            identity["size"] = stat.st_size
        if self.kind == MOLECULES:
            identity.update(smiles_column=self.smiles_column, id_column=self.id_column)
        return identity


def open_library(spec: str | Path, smiles_column: str = "smiles", id_column: str | None = None) -> Library:
    """The library ``spec`` names (see the module docstring); ``LibraryError`` if it is none of them."""
    text = str(spec)
    if text == "core-mof" or text.startswith("core-mof:"):
        sets = CORE_MOF_DEFAULT if text == "core-mof" else tuple(text.split(":", 1)[1].split(","))
        unknown = [s for s in sets if s not in CORE_MOF_SETS]
        if unknown:
            raise LibraryError(f"unknown CoRE MOF set(s) {unknown}; valid: {list(CORE_MOF_SETS)}")
        core_mof_data()  # fails early and clearly when the package is missing
        return Library(text, CRYSTALS, core_mof_sets=sets)
    path = Path(spec).expanduser()
    if not path.exists():
        raise LibraryError(f"library {path} does not exist")
    name = path.name.lower()
    if path.is_dir() or name.endswith(TAR_SUFFIXES + (".zip", ".cif")):
        return Library(text, CRYSTALS, path)
    if not name.endswith(SMILES_SUFFIXES):
        raise LibraryError(f"{path}: a library is a folder or tar/zip archive of CIFs, one CIF, a CSV/SMI/Parquet file "
                           f"of SMILES, or core-mof[:SET]")
    return Library(text, MOLECULES, path, smiles_column, id_column)


def core_mof_data():
    """The data folder of the installed ``core-mof`` package (``pip install 'molgnn[coremof]'``)."""
    try:
        return importlib.resources.files("CoRE_MOF.data")
    except ModuleNotFoundError as error:
        raise LibraryError("the CoRE MOF database needs the core-mof package: pip install 'molgnn[coremof]'") from error


def _enumerate(items: Iterator[tuple[str, str, object]]) -> Iterator[Record]:
    for index, (record_id, source, payload) in enumerate(items):
        yield index, record_id, source, payload


def _is_cif_member(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.lower().endswith(".cif") and not base.startswith(".")


def _cif_files(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if _is_cif_member(name):
                yield Path(root) / name


def _folder(folder: Path) -> Iterator[tuple[str, str, object]]:
    for path in _cif_files(folder):
        yield path.relative_to(folder).with_suffix("").as_posix(), str(path), path


def _tar(path: Path, prefix: str | None = None, flat: bool = False) -> Iterator[tuple[str, str, object]]:
    # "r|*" reads the archive as a stream: members one after the other, nothing indexed in memory.
    with tarfile.open(path, "r|*") as archive:
        for member in archive:
            if member.isfile() and _is_cif_member(member.name):
                text = CifText(archive.extractfile(member).read().decode("utf-8", errors="replace"))
                member_id = member.name[:-4].rsplit("/", 1)[-1] if flat else member.name[:-4]
                yield member_id, f"{prefix or path.name}:{member.name}", text


def _zip(path: Path) -> Iterator[tuple[str, str, object]]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.is_dir() and _is_cif_member(info.filename):
                text = CifText(archive.read(info).decode("utf-8", errors="replace"))
                yield info.filename[:-4], f"{path.name}:{info.filename}", text


def _core_mof(sets: tuple[str, ...]) -> Iterator[tuple[str, str, object]]:
    data = core_mof_data()
    for name in sets:
        with importlib.resources.as_file(data / f"{name}.tar.xz") as archive:
            for member_id, source, text in _tar(archive, prefix=f"core-mof:{name}", flat=True):
                yield (member_id if len(sets) == 1 else f"{name}/{member_id}"), source, text


def _column(columns: list[str], wanted: str, path: Path, what: str) -> str:
    if wanted in columns:
        return wanted
    matches = [c for c in columns if c.lower() == wanted.lower()]
    if len(matches) == 1:
        return matches[0]
    raise LibraryError(f"{path}: no {what} column {wanted!r}; columns are {columns}")


def _csv(path: Path, smiles_column: str, id_column: str | None) -> Iterator[tuple[str, str, object]]:
    header = pd.read_csv(path, nrows=0).columns.tolist()
    smiles = _column(header, smiles_column, path, "SMILES")
    ids = _column(header, id_column, path, "id") if id_column else None
    offset = 0
    for chunk in pd.read_csv(path, usecols=[c for c in (smiles, ids) if c], dtype=str, keep_default_na=False,
                             chunksize=CSV_CHUNK_ROWS):
        values = chunk[smiles].tolist()
        names = chunk[ids].tolist() if ids else [str(offset + k) for k in range(len(values))]
        offset += len(values)
        yield from ((name, value, value) for name, value in zip(names, values))


def _parquet(path: Path, smiles_column: str, id_column: str | None) -> Iterator[tuple[str, str, object]]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    names = file.schema_arrow.names
    smiles = _column(names, smiles_column, path, "SMILES")
    ids = _column(names, id_column, path, "id") if id_column else None
    offset = 0
    for batch in file.iter_batches(batch_size=CSV_CHUNK_ROWS, columns=[c for c in (smiles, ids) if c]):
        values = ["" if v is None else str(v) for v in batch.column(smiles).to_pylist()]
        labels = [str(v) for v in batch.column(ids).to_pylist()] if ids else [str(offset + k) for k in range(len(values))]
        offset += len(values)
        yield from ((name, value, value) for name, value in zip(labels, values))


def _open_text(path: Path):
    return gzip.open(path, "rt") if path.name.lower().endswith(".gz") else open(path)


def _smi(path: Path) -> Iterator[tuple[str, str, object]]:
    """``SMILES [id]`` per line, whitespace-separated, as RDKit's SmilesMolSupplier reads by default."""
    with _open_text(path) as lines:
        for row, line in enumerate(lines):
            fields = line.split()
            if row == 0 and fields and fields[0].lower() == "smiles":
                continue  # a header line
            smiles = fields[0] if fields else ""
            yield (fields[1] if len(fields) > 1 else str(row)), smiles, smiles


def _count_lines(path: Path) -> int:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    count, last = 0, b"\n"
    with opener(path, "rb") as stream:
        while block := stream.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")
