"""Shared fixtures: the real data directory (``$MOLGNN_DATA_DIR`` or ``<repo>/../shared/data``), and the
Hypothesis profiles of the property-based tests.

Profiles (``HYPOTHESIS_PROFILE``): ``ci`` (the default: few examples, a deadline per example, so the
suite's time stays in check) and ``thorough`` (many examples, for a hunt). Neither keeps an example
database, so nothing is written into the checkout.
"""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=40, deadline=5000, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("thorough", max_examples=2000, deadline=20000, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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
