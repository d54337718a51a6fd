import numpy as np
import pandas as pd
import pytest

from molgnn.api import GNNEstimator


@pytest.fixture(scope="module")
def sider(data_dir):
    frame = pd.read_csv(data_dir / "molnet" / "sider.csv").iloc[:150]
    return frame["smiles"].tolist(), frame.iloc[:, 1:].to_numpy(dtype=float), list(frame.columns[1:])


def test_fit_predict_score_save_load_on_smiles(sider, tmp_path):
    smiles, labels, names = sider
    labels = labels.copy()
    labels[::7, 3] = np.nan  # missing labels are allowed
    estimator = GNNEstimator(epochs=3, model_args={"hidden": 32}, run_dir=tmp_path / "run", seed=1)
    assert estimator.fit(smiles[:120], labels[:120], target_names=names) is estimator
    assert estimator.task_ == "multilabel" and estimator.targets_ == names
    proba = estimator.predict_proba(smiles[120:])
    assert proba.shape == (30, 27) and ((proba >= 0) & (proba <= 1)).all()
    assert set(np.unique(estimator.predict(smiles[120:]))) <= {0.0, 1.0}
    assert 0 <= estimator.score(smiles[120:], labels[120:]) <= 1
    saved = estimator.save(tmp_path / "copy")
    loaded = GNNEstimator.load(saved)
    np.testing.assert_allclose(loaded.predict_proba(smiles[120:]), proba)
    with pytest.warns(UserWarning, match="1 input"):
        bad = loaded.predict_proba(["C1CC", "CCO"])
    assert np.isnan(bad[0]).all() and not np.isnan(bad[1]).any()


def test_params_follow_scikit_learn_conventions():
    estimator = GNNEstimator(epochs=7)
    assert estimator.get_params()["epochs"] == 7 and "model" in estimator.get_params()
    assert estimator.set_params(lr=0.01).lr == 0.01
    with pytest.raises(ValueError, match="invalid parameter"):
        estimator.set_params(learning_rate=0.1)
    with pytest.raises(RuntimeError, match="not fitted"):
        estimator.predict(["CCO"])


def test_regression_on_cif_paths(data_dir, tmp_path):
    folder = data_dir / "hmof100"
    uptake = pd.read_csv(folder / "co2_0.5bar.csv", header=None, names=["name", "uptake"]).iloc[:24]
    paths = [folder / "cif" / f"{name}.cif" for name in uptake["name"]]
    estimator = GNNEstimator(epochs=2, batch_size=8, model_args={"hidden": 16, "layers": 1}, run_dir=tmp_path)
    estimator.fit(paths, uptake["uptake"].to_numpy())
    assert estimator.task_ == "regression"
    predictions = estimator.predict(paths[:5])
    assert predictions.shape == (5,) and np.isfinite(predictions).all()
    assert np.isfinite(estimator.score(paths, uptake["uptake"].to_numpy()))
