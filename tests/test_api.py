import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import cross_val_score
from sklearn.utils import estimator_checks

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
    with pytest.raises(ValueError, match="(?i)invalid parameter"):
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


# The checks of sklearn.utils.estimator_checks that apply to an estimator of records (SMILES, CIFs): parameters, cloning,
# tags, repr. The others fit on random numeric arrays, which are no molecules or crystals, so they do not apply.
APPLICABLE_CHECKS = ["check_no_attributes_set_in_init", "check_parameters_default_constructible", "check_get_params_invariance",
                     "check_set_params", "check_estimator_cloneable", "check_estimator_repr", "check_valid_tag_types",
                     "check_estimator_tags_renamed", "check_do_not_raise_errors_in_init_or_set_params", "check_mixin_order"]


@pytest.mark.parametrize("check", APPLICABLE_CHECKS)
@pytest.mark.parametrize("task", ["auto", "multilabel", "regression"])
def test_scikit_learn_estimator_checks_that_apply_to_records(check, task):
    getattr(estimator_checks, check)("GNNEstimator", GNNEstimator(task=task))


def test_is_a_scikit_learn_classifier_or_regressor_and_cross_validates(data_dir):
    assert is_classifier(GNNEstimator(task="binary")) and is_regressor(GNNEstimator(task="regression"))
    assert clone(GNNEstimator(epochs=3, model_args={"hidden": 8})).get_params()["model_args"] == {"hidden": 8}
    frame = pd.read_csv(data_dir / "molnet" / "delaney.csv").iloc[:60]
    estimator = GNNEstimator(model="gine", epochs=1, model_args={"hidden": 16, "layers": 1})
    scores = cross_val_score(estimator, frame["smiles"].tolist(), frame["logp"].to_numpy(), cv=2)
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_load_restores_the_parameters_it_was_trained_with(sider, tmp_path):
    smiles, labels, _ = sider
    estimator = GNNEstimator(model="gine", epochs=2, lr=3e-3, seed=4, batch_size=16, patience=7, validation_fraction=0.2,
                             model_args={"hidden": 16}, forest_trees=5, forest_weight=0.7,
                             run_dir=tmp_path / "run").fit(smiles[:60], labels[:60])
    loaded = GNNEstimator.load(tmp_path / "run").get_params()
    for name in ("model", "epochs", "lr", "seed", "batch_size", "patience", "validation_fraction", "model_args",
                 "forest_trees", "forest_weight"):
        assert loaded[name] == estimator.get_params()[name], name
    assert loaded["task"] == "multilabel" and loaded["featurizer"].fingerprint_bits == 2048


def test_readme_example_a_charge_model_on_cif_paths(crafted, data_dir, tmp_path):
    table = pd.read_csv(data_dir / "crafted726" / "structural_data.csv", index_col="Name")
    cif_paths = sorted(crafted.glob("*.cif"), key=lambda p: p.stat().st_size)[:16]
    uptake = table.loc[[p.stem for p in cif_paths], "LCD"].to_numpy(float)
    estimator = GNNEstimator(model="edge_attention_charge", epochs=1, model_args={"hidden": 16, "layers": 1},
                             run_dir=tmp_path / "run").fit(cif_paths, uptake)
    assert estimator.run_.featurizer.charges == "cif" and np.isfinite(estimator.predict(cif_paths[:3])).all()


def test_a_charge_model_on_cifs_without_charges_gets_learned_charges(data_dir, tmp_path):
    uptake = pd.read_csv(data_dir / "hmof100" / "co2_0.1bar.csv", header=None, names=["name", "uptake"], index_col="name")
    cif_paths = sorted((data_dir / "hmof100" / "cif").glob("*.cif"), key=lambda p: p.stat().st_size)[:12]
    estimator = GNNEstimator(model="charge", epochs=1, model_args={"hidden": 16, "layers": 1},
                             run_dir=tmp_path / "run").fit(cif_paths, uptake.loc[[p.stem for p in cif_paths], "uptake"].to_numpy())
    assert estimator.run_.featurizer.charges == "learned"
    assert estimator.run_.featurizer.config()["charge_model"] == "ddec-crafted726"
