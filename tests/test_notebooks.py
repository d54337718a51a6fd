"""Execute every notebook in ``notebooks/`` top to bottom; any cell error fails the test.

The notebooks read their data from ``$MOLGNN_DATA_DIR``; the kernel inherits this test's
environment, so the variable is set here (to itself, or to ``<repo>/../shared/data``).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def _data_dir() -> Path:
    return Path(os.environ.get("MOLGNN_DATA_DIR") or REPO.parent / "shared" / "data").expanduser().resolve()


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data_dir = _data_dir()
    if not data_dir.is_dir():
        pytest.skip(f"data directory {data_dir} not found (set MOLGNN_DATA_DIR)")
    monkeypatch.setenv("MOLGNN_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MOLGNN_CACHE_DIR", str(tmp_path / "cache"))  # in case a notebook uses the default cache

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    client.execute()  # raises CellExecutionError, with the failing cell and traceback, on the first error
