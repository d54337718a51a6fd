"""Execute notebooks in place at full size and stamp each code cell with the hash of the source that made its outputs.

    python notebooks/execute.py                         # every notebook in notebooks/
    python notebooks/execute.py notebooks/03_drug_side_effects.ipynb

The committed outputs (figures and tables visible when browsing the repository) come from this
script. Each code cell's metadata gets ``molgnn.source_sha256``, the SHA-256 of its source when it
ran; ``tests/test_notebooks.py`` fails for a cell whose source changed since (a stale output) or
that never ran, and re-executes every notebook in a temporary copy at the small size
(``MOLGNN_NOTEBOOK_SIZE=small``, which the notebooks read to shrink their data and epochs).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
SIZE_VARIABLE = "MOLGNN_NOTEBOOK_SIZE"  # "small": the test suite's size; unset: the full size of the committed outputs


def source_hash(cell) -> str:
    return hashlib.sha256(cell.source.encode()).hexdigest()


def stale_cells(notebook) -> list[str]:
    """Code cells whose outputs were not made by their current source (edited since, or never run)."""
    stale = []
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        stamped = cell.metadata.get("molgnn", {}).get("source_sha256")
        if cell.execution_count is None:
            stale.append(f"cell {number}: never executed")
        elif stamped != source_hash(cell):
            stale.append(f"cell {number}: source changed since its outputs were made" if stamped else
                         f"cell {number}: outputs not stamped by notebooks/execute.py")
    return stale


def execute(path: Path, timeout: int = 1800) -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(FOLDER)}}).execute()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.metadata.setdefault("molgnn", {})["source_sha256"] = source_hash(cell)
    nbformat.write(notebook, path)


def main(argv: list[str]) -> int:
    import os

    if os.environ.get(SIZE_VARIABLE):
        print(f"unset {SIZE_VARIABLE}: committed outputs are made at full size", file=sys.stderr)
        return 2
    for path in [Path(p) for p in argv] or sorted(FOLDER.glob("*.ipynb")):
        print(f"executing {path}", flush=True)
        execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
