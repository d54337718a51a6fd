"""The command answers help, argument errors and ``molgnn datasets`` without importing the heavy libraries."""

import json
import subprocess
import sys
import time

import pytest

HEAVY = ("torch", "torch_geometric", "rdkit", "pymatgen", "gemmi", "pandas", "sklearn", "scipy")
# A generous bound: the point is what is imported (asserted exactly); the time is about 0.3 s on an idle core.
SECONDS = 10.0


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["screen", "--help"], ["predict", "--help"], ["trian"],
                                  ["train", "sider"], ["datasets"], ["datasets", "crafted726"]])
def test_help_argument_errors_and_datasets_import_no_heavy_library(argv):
    script = ("import json, sys\nfrom molgnn.cli import main\nfrom molgnn.deferred_imports import is_deferred\ntry:\n"
              "    code = main(sys.argv[1:])\nexcept SystemExit as exit:\n    code = exit.code\n"  # a deferred module is not imported
              "print(json.dumps({'code': code, 'heavy': sorted({m.split('.')[0] for m in sys.modules if not is_deferred(m)} & "
              f"set({HEAVY!r}))}}))")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["heavy"] == [], f"{argv} imported {outcome['heavy']}"
    assert outcome["code"] == (0 if argv[0] == "datasets" or "--help" in argv else 2), result.stderr
    assert elapsed < SECONDS, f"molgnn {' '.join(argv)} took {elapsed:.1f} s"
