"""The benchmarks' quick modes run end to end and end with one JSON object."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow
def test_featurize_benchmark_quick(data_dir):
    result = subprocess.run([sys.executable, str(BENCHMARKS / "featurize.py"), "--quick", "--repeats", "1",
                             "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["quick"] is True and summary["neighbour_check"]["ok"]
    for key in ("molgnn_vs_from_smiles", "molgnn_fraction_of_parse_rate", "crystal_speedup_vs_cgcnn"):
        assert summary[key] > 0
