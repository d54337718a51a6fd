"""Shared fixtures: the real data directory (``$MOLGNN_DATA_DIR`` or ``<repo>/../shared/data``)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("MOLGNN_DATA_DIR") or REPO.parent / "shared" / "data")
    if not (path / "molnet").is_dir():
        pytest.fail(f"real data not found at {path}: set MOLGNN_DATA_DIR to the shared data folder")
    return path


@pytest.fixture(scope="session")
def crafted(data_dir) -> Path:
    return data_dir / "crafted726" / "cif" / "DDEC"


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    return tmp_path / "cache"
