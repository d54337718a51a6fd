"""A small real pool for campaigns: 150 molecules of ESOL (delaney.csv) with their measured log solubility as the
table of finished "simulations", and RDKit 2D descriptors for the surrogates."""

import pandas as pd
import pytest

POOL_SIZE = 150


@pytest.fixture(scope="session")
def esol(data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("esol")
    frame = pd.read_csv(data_dir / "molnet" / "delaney.csv").iloc[:POOL_SIZE]
    frame.to_csv(folder / "pool.csv", index=False)
    pd.DataFrame({"id": [str(k) for k in range(len(frame))], "logS": frame["logp"]}).to_csv(folder / "truth.csv", index=False)
    return folder


@pytest.fixture(scope="session")
def esol_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("esol-cache")


@pytest.fixture
def esol_config(esol):
    """A campaign maximizing solubility over the ESOL pool with the lookup oracle and a forest surrogate."""
    return {"pool": str(esol / "pool.csv"), "featurizer": {"descriptors": "rdkit2d"},
            "oracle": {"kind": "lookup", "table": str(esol / "truth.csv"), "column": "logS"},
            "surrogate": {"kind": "forest", "trees": 50}, "acquisition": "ucb", "batch_size": 5, "budget": 30,
            "initial": 10, "seed": 0}
