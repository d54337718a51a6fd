"""The ranked view of a screen: the top ``k`` records by one target, with filters.

Reads the table in batches (only the columns it ranks by, then the chosen rows), so a table far
larger than memory can be ranked. Only records with status ``ok`` are ranked; ties are broken by
the record's position in the library.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from molgnn.errors import MolgnnError
from molgnn.screen.store import DOMAIN_COLUMN, LEADING_COLUMNS

BATCH_ROWS = 100_000


class RankError(MolgnnError, ValueError):
    """An unknown sort target, or a filter on the ensemble spread of a single model's screen."""


def top_candidates(table: str | Path, k: int = 100, sort: str | None = None, ascending: bool = False,
                   min_std: float | None = None, max_std: float | None = None,
                   min_value: float | None = None, max_value: float | None = None) -> pd.DataFrame:
    """The ``k`` best records of a screen's table, best first, with a ``rank`` column.

    Args:
        table: the screen's output (Parquet or CSV).
        k: how many to return.
        sort: the target (name, or its column name with the unit) to rank by; default the first.
        ascending: smallest first instead of largest.
        min_std, max_std: keep records whose ensemble std of the sort target lies in this range
            (a high std flags disagreement between the models; a low one confident predictions).
        min_value, max_value: keep records whose (mean) prediction lies in this range.
    """
    table = Path(table)
    columns = _columns(table)
    value, std = sort_columns(columns, sort)
    if std is None and (min_std is not None or max_std is not None):
        raise RankError(f"{table} comes from a single model: there is no std to filter on (screen with several runs)")
    wanted = ["index", "status", value] + ([std] if std else [])
    best = None
    for batch in _batches(table, wanted):
        keep = batch["status"] == "ok"
        for column, low, high in ((value, min_value, max_value), (std, min_std, max_std)):
            if low is not None:
                keep &= batch[column] >= low
            if high is not None:
                keep &= batch[column] <= high
        candidates = batch[keep & batch[value].notna()]
        merged = candidates if best is None else pd.concat([best, candidates], ignore_index=True)
        best = merged.sort_values([value, "index"], ascending=[ascending, True], kind="stable").head(k)
    if best is None or best.empty:
        return pd.DataFrame(columns=["rank", *columns])
    chosen = set(best["index"].tolist())
    rows = pd.concat([batch[batch["index"].isin(chosen)] for batch in _batches(table, None)], ignore_index=True)
    rows = rows.set_index("index", drop=False).loc[best["index"].tolist()].reset_index(drop=True)
    rows.insert(0, "rank", range(1, len(rows) + 1))
    return rows


def sort_columns(columns: list[str], sort: str | None) -> tuple[str, str | None]:
    """The value column and (for an ensemble) the std column of the target ``sort``."""
    targets = {_target(c): c for c in columns if _is_prediction(c) and not _target(c).endswith(" std")}
    if not targets:
        raise RankError("the table has no prediction columns")
    if sort is None:
        value = next(iter(targets.values()))
    elif sort in columns and sort in targets.values():
        value = sort
    else:
        matches = [c for t, c in targets.items() if t == sort] or [c for t, c in targets.items() if t.lower() == sort.lower()]
        if len(matches) != 1:
            raise RankError(f"cannot sort by {sort!r}; targets are {sorted(targets)}")
        value = matches[0]
    target = _target(value)
    std = value.replace(target, f"{target} std", 1)
    return value, std if std in columns else None


def _target(column: str) -> str:
    return column.rsplit(" [", 1)[0] if column.endswith("]") and " [" in column else column


def _is_prediction(column: str) -> bool:
    return column not in (*LEADING_COLUMNS, "rank", DOMAIN_COLUMN)


def _columns(table: Path) -> list[str]:
    if table.suffix.lower() == ".csv":
        return pd.read_csv(table, nrows=0).columns.tolist()
    import pyarrow.parquet as pq

    return pq.read_schema(table).names


def _batches(table: Path, columns: list[str] | None) -> Iterator[pd.DataFrame]:
    if table.suffix.lower() == ".csv":
        yield from pd.read_csv(table, usecols=columns, chunksize=BATCH_ROWS, keep_default_na=False, na_values=[""],
                               dtype={"id": str, "source": str, "reason": str, DOMAIN_COLUMN: str})
        return
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(table).iter_batches(batch_size=BATCH_ROWS, columns=columns):
        yield batch.to_pandas()
