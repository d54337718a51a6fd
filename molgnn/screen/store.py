"""Where a screen keeps its work: a manifest, atomic chunk files, per-rank done markers, the merge.

The work folder ``<out>.parts/`` holds ``manifest.json`` (everything that decides the result:
the runs' weights, the library's identity, the options; a rerun with other arguments is refused
instead of mixing results), one Parquet file per chunk and rank, written to a temporary name and
renamed (a killed screen never leaves half a chunk), and one ``done-r<rank>.json`` per finished
rank. Chunk ``c`` of rank ``r`` holds the shard positions ``[c * size, (c + 1) * size)``, i.e. the
library indices ``r + world * p``; the merge joins chunk ``c`` of every rank, which must be
exactly the indices ``[c * size * world, ...)``, so a lost or doubled record is caught.
``write_table`` is the one writer of result tables, used by the merge and by ``molgnn predict``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from molgnn import __version__
from molgnn.atomic import atomic_path, atomic_write_text
from molgnn.errors import MolgnnError

MANIFEST, SUMMARY = "manifest.json", "summary.json"
LEADING_COLUMNS = ["index", "id", "source", "status", "reason"]
DOMAIN_COLUMN = "domain"  # after the predictions, for runs that recorded their training domain: "inside" or why not
TABLE_SUFFIXES = (".parquet", ".csv")


def prediction_columns(frame: pd.DataFrame) -> list[str]:
    """The prediction columns of a screen's table: per target its mean, then (ensembles) per target its std."""
    return [column for column in frame.columns if column not in (*LEADING_COLUMNS, DOMAIN_COLUMN)]


class ScreenStoreError(MolgnnError, RuntimeError):
    """A work folder that belongs to another screen, or a merge that would lose or repeat records."""


def work_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def open_work_dir(folder: Path, manifest: dict, restart: bool) -> None:
    """Create the work folder, or check that the one found belongs to the same screen."""
    manifest = {"molgnn_version": __version__, **manifest}
    key = hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()
    manifest["key"] = key
    existing = folder / MANIFEST
    if existing.exists() and not restart:
        found = json.loads(existing.read_text())
        if found.get("key") != key:
            differ = sorted(k for k in set(found) | set(manifest) if k != "key" and found.get(k) != manifest.get(k))
            raise ScreenStoreError(f"{folder} holds a screen with other arguments (they differ in {differ}); "
                                   "rerun with the same arguments to resume, or pass restart / --restart to start over")
        return
    if restart and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(existing, json.dumps(manifest, indent=1, default=str))


def part_path(folder: Path, rank: int, chunk: int) -> Path:
    return folder / f"part-r{rank:04d}-c{chunk:08d}.parquet"


def part_is_complete(path: Path, indices: list[int]) -> bool:
    """A chunk file on disk holding exactly ``indices`` (an earlier run's work, kept)."""
    if not path.exists():
        return False
    try:
        written = pq.read_table(path, columns=["index"]).column("index").to_numpy()
    except (OSError, pa.ArrowException):
        return False
    return np.array_equal(written, np.asarray(indices, dtype=np.int64))


def write_part(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as temporary:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), temporary)


def mark_done(folder: Path, rank: int, info: dict) -> None:
    atomic_write_text(folder / f"done-r{rank:04d}.json", json.dumps(info, indent=1))


def wait_for_ranks(folder: Path, world: int, timeout: float | None, poll: float = 0.5) -> list[dict]:
    """The done markers of every rank, waiting for the ranks still screening (no process group needed)."""
    start = time.monotonic()
    while True:
        paths = [folder / f"done-r{rank:04d}.json" for rank in range(world)]
        missing = [rank for rank, path in enumerate(paths) if not path.exists()]
        if not missing:
            return [json.loads(path.read_text()) for path in paths]
        if timeout is not None and time.monotonic() - start > timeout:
            raise ScreenStoreError(f"ranks {missing} of {world} have not finished their shards in {folder} "
                                   f"after {timeout:.0f} s; rerun them (the same command) to complete the screen")
        time.sleep(poll)


class TableWriter:
    """Adds rows to a result table being written at ``temporary``: CSV or Parquet, chunk by chunk."""

    def __init__(self, temporary: Path, csv: bool):
        self.temporary, self.csv, self.rows = temporary, csv, 0
        self._parquet: pq.ParquetWriter | None = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.csv:
            frame.to_csv(self.temporary, mode="a", header=self.rows == 0, index=False)
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.temporary, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        self.rows += len(frame)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif self.rows == 0 and self.csv:  # a table without rows still has its leading columns
            pd.DataFrame(columns=LEADING_COLUMNS).to_csv(self.temporary, index=False)
        elif self.rows == 0:
            pq.write_table(pa.table({c: pa.array([], pa.string()) for c in LEADING_COLUMNS}), self.temporary)


@contextmanager
def write_table(path: Path) -> Iterator[TableWriter]:
    """The one writer of result tables (screens and predictions): ``writer.write(frame)`` adds rows, and
    the table is renamed into place at the end of the block (untouched if the block raises).

    ``path`` is written as CSV when its name ends in ``.csv``, as Parquet when it ends in ``.parquet``;
    another name is refused (``check_table_name``).
    """
    check_table_name(path)
    with atomic_path(path) as temporary:
        writer = TableWriter(temporary, is_csv(path))
        try:
            yield writer
        finally:
            writer.close()


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A result table written by ``write_table`` (ids, sources and reasons read as text, empty as NaN)."""
    if is_csv(path):
        return pd.read_csv(path, usecols=columns, keep_default_na=False, na_values=[""],
                           dtype={"id": str, "source": str, "reason": str})
    return pd.read_parquet(path, columns=columns)


def check_table_name(path: Path) -> None:
    """Refuse, before any work, a result table whose name ends in neither ``.parquet`` nor ``.csv``."""
    if Path(path).suffix.lower() not in TABLE_SUFFIXES:
        suffix = Path(path).suffix or "no extension"
        raise ScreenStoreError(f"{path}: a result table is Parquet (.parquet) or CSV (.csv), not {suffix!r}")


def is_csv(path: Path) -> bool:
    """Whether a result table at ``path`` is CSV (its name ends in ``.csv``) rather than Parquet."""
    return Path(path).suffix.lower() == ".csv"


def merge(folder: Path, out: Path, done: list[dict]) -> dict[str, int]:
    """Join every rank's chunks into ``out`` in library order; returns the counts per status.

    Streams one chunk number at a time, so memory does not grow with the library.
    """
    world = len(done)
    total = sum(d["records"] for d in done)
    chunks = max((d["chunks"] for d in done), default=0)
    counts: dict[str, int] = {}
    with write_table(out) as writer:
        for chunk in range(chunks):
            paths = [part_path(folder, rank, chunk) for rank in range(world) if chunk < done[rank]["chunks"]]
            frame = pd.concat([pq.read_table(p).to_pandas() for p in paths], ignore_index=True)
            frame = frame.sort_values("index", kind="stable", ignore_index=True)
            expected = np.arange(writer.rows, writer.rows + len(frame))
            if not np.array_equal(frame["index"].to_numpy(), expected):
                raise ScreenStoreError(f"chunk {chunk} in {folder} does not hold records "
                                       f"{writer.rows}..{writer.rows + len(frame) - 1} exactly once")
            for status, n in frame["status"].value_counts().items():
                counts[status] = counts.get(status, 0) + int(n)
            writer.write(frame)
        if writer.rows != total:
            raise ScreenStoreError(f"{folder}: {writer.rows} rows merged for {total} records read")
    return counts


def remove_parts(folder: Path) -> None:
    """After a merge, only the manifest and the summary stay (a rerun finds the screen complete)."""
    for path in folder.iterdir():
        if path.name not in (MANIFEST, SUMMARY):
            path.unlink()
