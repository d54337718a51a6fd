"""Execute every notebook in ``notebooks/`` top to bottom; any cell error fails the test.

The notebooks read their data from ``$MOLGNN_DATA_DIR``. The kernel inherits this test's
environment, so the variable is set here to the ``data_dir`` fixture's folder, made absolute
because the kernel runs inside ``notebooks/``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, data_dir: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOLGNN_DATA_DIR", str(data_dir.resolve()))
    monkeypatch.setenv("MOLGNN_CACHE_DIR", str(cache_dir))  # in case a notebook uses the default cache

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    client.execute()  # raises CellExecutionError, with the failing cell and traceback, on the first error
