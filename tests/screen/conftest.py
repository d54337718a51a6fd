"""Tiny trained runs for the screening tests: two molecule models (an ensemble) and two crystal models."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from molgnn.data.build import dataset_from_inputs
from molgnn.featurize.crystal import CrystalFeaturizer
from molgnn.featurize.molecule import MoleculeFeaturizer
from molgnn.train.checkpoint import load_run
from molgnn.train.config import TrainConfig
from molgnn.train.evaluate import predict_batches
from molgnn.train.loader import expanded_batches
from molgnn.train.trainer import train

SIDER_ROWS = 300
CRYSTALS = 24
BAD_SMILES = {"bad-syntax": "C1CC(", "bad-valence": "C(C)(C)(C)(C)C", "empty": "", "letters": "not a smiles"}


def _train(dataset, run_dir: Path, model: str, model_args: dict, seed: int) -> Path:
    config = TrainConfig(model=model, model_args=model_args, epochs=1, batch_size=32, seed=seed,
                         split_fractions=(0.8, 0.2, 0.0))
    train(dataset, run_dir, config, resume=False, progress=False)
    return run_dir


@pytest.fixture(scope="session")
def sider(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "molnet" / "sider.csv")


@pytest.fixture(scope="session")
def molecule_runs(tmp_path_factory, sider) -> list[Path]:
    """Two AttentiveFP runs (seeds 0 and 1) on 300 sider molecules, 1 epoch each."""
    rows = sider.head(SIDER_ROWS)
    labels = rows.drop(columns="smiles")
    dataset = dataset_from_inputs(rows["smiles"].tolist(), labels.to_numpy(float), MoleculeFeaturizer(),
                                  targets=list(labels.columns), task="multilabel", name="sider300")
    root = tmp_path_factory.mktemp("molecule-runs")
    return [_train(dataset, root / f"seed{seed}", "attentivefp", {"hidden": 32, "layers": 1, "timesteps": 1}, seed)
            for seed in (0, 1)]


@pytest.fixture(scope="session")
def crystal_files(data_dir) -> list[Path]:
    """The smallest crafted726 structures (DDEC charges in the files)."""
    folder = data_dir / "crafted726" / "cif" / "DDEC"
    return sorted(sorted(folder.glob("*.cif"), key=lambda p: p.stat().st_size)[:CRYSTALS])


def _crystal_dataset(data_dir, files, featurizer):
    table = pd.read_csv(data_dir / "crafted726" / "structural_data.csv", index_col="Name")
    y = table.loc[[f.stem for f in files], ["LCD"]].to_numpy(float)
    dataset = dataset_from_inputs(files, y, featurizer, ids=[f.stem for f in files], targets=["LCD"],
                                  task="regression", name="crafted-small")
    dataset.meta["units"] = {"LCD": "Å"}
    return dataset


@pytest.fixture(scope="session")
def crystal_run(tmp_path_factory, data_dir, crystal_files) -> Path:
    """CGCNN (no charges) predicting the largest cavity diameter, Å."""
    dataset = _crystal_dataset(data_dir, crystal_files, CrystalFeaturizer(charges="none"))
    return _train(dataset, tmp_path_factory.mktemp("crystal-run") / "cgcnn", "cgcnn", {"hidden": 16, "layers": 1}, 0)


@pytest.fixture(scope="session")
def charge_run(tmp_path_factory, data_dir, crystal_files) -> Path:
    """A charge-aware model trained on the DDEC charges read from the CIF files."""
    dataset = _crystal_dataset(data_dir, crystal_files, CrystalFeaturizer(charges="cif"))
    return _train(dataset, tmp_path_factory.mktemp("charge-run") / "charge", "charge", {"hidden": 16, "layers": 1}, 0)


def direct_predictions(run_dir: Path, smiles: list[str]) -> np.ndarray:
    """``[n, T]`` predictions of a run by the training engine's own path (NaN where a SMILES is rejected)."""
    run = load_run(run_dir)
    ids = [str(k) for k in range(len(smiles))]
    dataset = dataset_from_inputs(smiles, np.full((len(smiles), len(run.targets)), np.nan), run.featurizer, ids=ids,
                                  targets=run.targets, task=run.task)
    _, predicted, _ = predict_batches(run.model, expanded_batches(dataset, 64), run.task, run.scaler, "cpu")
    values = np.full((len(smiles), len(run.targets)), np.nan)
    values[[int(i) for i in dataset.ids]] = predicted
    return values


def assert_same_tables(left: pd.DataFrame, right: pd.DataFrame) -> None:
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    for column in left.columns:
        if left[column].dtype.kind == "f":
            np.testing.assert_allclose(left[column].to_numpy(), right[column].to_numpy(), rtol=1e-5, atol=1e-6,
                                       equal_nan=True, err_msg=column)
        else:
            assert left[column].tolist() == right[column].tolist(), column
