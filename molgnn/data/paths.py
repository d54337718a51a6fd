"""Where data is read from and where processed datasets are cached."""

from __future__ import annotations

import os
from pathlib import Path

from molgnn.errors import MolgnnError

DATA_DIR_ENV = "MOLGNN_DATA_DIR"
CACHE_DIR_ENV = "MOLGNN_CACHE_DIR"


class DataDirError(MolgnnError, FileNotFoundError):
    """No data directory was given, or the one given does not exist."""


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """The data directory: ``explicit``, else ``$MOLGNN_DATA_DIR``; it must exist."""
    chosen = explicit if explicit is not None else os.environ.get(DATA_DIR_ENV)
    if not chosen:
        raise DataDirError(f"no data directory: pass data_dir (--data-dir) or set {DATA_DIR_ENV}")
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataDirError(f"data directory {path} does not exist")
    return path


def resolve_cache_dir(explicit: str | Path | None = None) -> Path:
    """The cache directory: ``explicit``, else ``$MOLGNN_CACHE_DIR``, else ``~/.cache/molgnn``."""
    chosen = explicit or os.environ.get(CACHE_DIR_ENV)
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "molgnn"
