"""Training labels (the first 80% of rows) and Morgan fingerprints of real multilabel sets."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from molgnn.chem.molecule import morgan_fingerprint, parse_many

TRAIN_FRACTION = 0.8


@dataclass
class TrainSet:
    name: str
    Y: np.ndarray  # [n, L], NaN = missing
    label_names: list[str]
    fingerprints: np.ndarray  # [n, 1024] uint8


def _train_set(path, name: str) -> TrainSet:
    frame = pd.read_csv(path)
    frame = frame.iloc[: int(TRAIN_FRACTION * len(frame))]
    mols, kept, _ = parse_many(frame["smiles"].tolist(), list(range(len(frame))))  # the data layer rejects the rest
    labels = frame.drop(columns="smiles")
    fingerprints = np.stack([morgan_fingerprint(mol, 2, 1024) for mol in mols])
    return TrainSet(name, labels.to_numpy(float)[kept], list(labels.columns), fingerprints)


@pytest.fixture(scope="session")
def sider_train(data_dir) -> TrainSet:
    return _train_set(data_dir / "molnet" / "sider.csv", "sider")


@pytest.fixture(scope="session")
def tox21_train(data_dir) -> TrainSet:
    return _train_set(data_dir / "molnet" / "tox21.csv", "tox21")


@pytest.fixture(params=["sider", "tox21"])
def train_set(request) -> TrainSet:
    return request.getfixturevalue(f"{request.param}_train")
