"""Every notebook in ``notebooks/``: its committed outputs are current, and it runs top to bottom at the small size.

Committed outputs come from ``notebooks/execute.py``, which stamps every code cell with the hash of
the source that made its outputs; a cell edited since (or never run) fails the first test. The
second executes a temporary copy with ``MOLGNN_NOTEBOOK_SIZE=small`` (the notebooks shrink their
data and epochs) and ``$MOLGNN_DATA_DIR`` set to the ``data_dir`` fixture's folder, made absolute
because the kernel runs inside ``notebooks/``; any cell error fails it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
_spec = importlib.util.spec_from_file_location("notebook_execute", NOTEBOOKS_DIR / "execute.py")
execute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_outputs_are_those_of_the_current_cells(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert execute.stale_cells(notebook) == [], f"re-run: python notebooks/execute.py {path.relative_to(NOTEBOOKS_DIR.parent)}"
    assert any("image/png" in output.get("data", {})
               for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs), "no figure"


def test_edited_and_unexecuted_cells_are_detected_as_stale() -> None:
    notebook = nbformat.read(NOTEBOOKS[0], as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]
    for number, cell in enumerate(code, 1):  # as notebooks/execute.py leaves them
        cell.execution_count = number
        cell.metadata["molgnn"] = {"source_sha256": execute.source_hash(cell)}
    assert execute.stale_cells(notebook) == []
    code[0].source += "\n1 + 1"
    code[1].execution_count = None
    stale = execute.stale_cells(notebook)
    assert len(stale) == 2 and "source changed" in stale[0] and "never executed" in stale[1]


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, data_dir: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOLGNN_DATA_DIR", str(data_dir.resolve()))
    monkeypatch.setenv("MOLGNN_CACHE_DIR", str(cache_dir))  # in case a notebook uses the default cache
    monkeypatch.setenv(execute.SIZE_VARIABLE, "small")

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    client.execute()  # raises CellExecutionError, with the failing cell and traceback, on the first error
