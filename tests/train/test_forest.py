import json

import numpy as np
import pandas as pd
import pytest
import torch

from molgnn.data.build import dataset_from_inputs
from molgnn.data.splits import make_split
from molgnn.errors import ConfigError
from molgnn.featurize.molecule import MoleculeFeaturizer
from molgnn.models.forest_blend import ForestBlend
from molgnn.screen import predict
from molgnn.train.checkpoint import CheckpointError, load_run
from molgnn.train.config import TrainConfig
from molgnn.train.evaluate import predict_batches
from molgnn.train.forest import WEIGHTS, choose_weight, filled, fit_forests, forest_features, forest_predictions
from molgnn.train.loader import expanded_batches
from molgnn.train.metrics import tune_thresholds
from molgnn.train.trainer import train

SMALL = {"hidden": 16, "fp_hidden": 16, "descriptor_hidden": 16}


def _molecules(data_dir, name: str, rows: int):
    frame = pd.read_csv(data_dir / "molnet" / f"{name}.csv").iloc[:rows]
    labels = [c for c in frame.columns if c != "smiles"]
    dataset = dataset_from_inputs(frame["smiles"].tolist(), frame[labels].to_numpy(float),
                                  MoleculeFeaturizer(fingerprint_bits=512, descriptors="rdkit2d"), targets=labels,
                                  name=f"{name}-{rows}")
    return dataset, frame["smiles"].tolist()


@pytest.fixture(scope="module")
def tox21(data_dir):
    """300 tox21 molecules (12 assays with missing labels), fingerprint and RDKit descriptors."""
    return _molecules(data_dir, "tox21", 300)


def _config(**values) -> TrainConfig:
    return TrainConfig(**{"model": "hybrid_descriptors", "model_args": SMALL, "epochs": 2, "batch_size": 64,
                          "split": "random", "seed": 0, **values})


def _network_and_forest(run_dir, dataset, indices):
    """The run's network output and a scikit-learn forest refitted as the blend fits it, on ``indices``."""
    run = load_run(run_dir)
    network = run.model.network
    subset = dataset[torch.as_tensor(indices)]
    _, net, _ = predict_batches(network, expanded_batches(subset, 64), run.task, run.scaler, "cpu")
    features, _ = forest_features(dataset)
    split = make_split("random", len(dataset), seed=0)
    features = filled(features, split.train)[0].astype(np.float32)
    y = dataset.labels.double().numpy() if run.task != "regression" else run.scaler.scale(dataset.labels).double().numpy()
    forest = forest_predictions(fit_forests(features, y, split.train, 0, 20, run.task != "regression", kind="extra"),
                                features[indices])
    return run, net, forest


def test_a_blended_run_predicts_the_weighted_average_of_its_network_and_its_forest(tox21, tmp_path):
    dataset, smiles = tox21
    metrics = train(dataset, tmp_path / "run", _config(forest_trees=20, forest_weight=0.3), progress=False)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["forest"]["trees"] == 20 and info["forest"]["parts"] == ["fingerprint", "descriptors"]
    assert info["forest"]["kind"] == "extra"
    assert "forest.pt" in (tmp_path / "run" / "SHA256SUMS").read_text()
    test = make_split("random", len(dataset), seed=0).test
    run, network, forest = _network_and_forest(tmp_path / "run", dataset, test)
    assert isinstance(run.model, ForestBlend)
    blended = 0.3 * network + 0.7 * forest
    table = predict(tmp_path / "run", [smiles[i] for i in test])  # the screening engine reads the blend too
    np.testing.assert_allclose(table[dataset.targets].to_numpy(float), blended, atol=1e-5)
    from molgnn.train.metrics import classification_metrics

    y_test = dataset.labels.numpy()[test]
    assert metrics["test"]["roc_auc"] == pytest.approx(classification_metrics(y_test, blended, dataset.targets)["roc_auc"],
                                                       abs=1e-6)
    alone = {name: scores["roc_auc"] for name, scores in metrics["test_parts"].items()}  # what the blend buys
    assert alone["network alone"] == pytest.approx(classification_metrics(y_test, network, dataset.targets)["roc_auc"])
    assert alone["forest alone"] == pytest.approx(classification_metrics(y_test, forest, dataset.targets)["roc_auc"])
    assert metrics["test"]["roc_auc"] not in (pytest.approx(alone["network alone"]), pytest.approx(alone["forest alone"]))
    val = make_split("random", len(dataset), seed=0).val  # each part alone with its own thresholds tuned on validation
    _, _, forest_val = _network_and_forest(tmp_path / "run", dataset, val)
    y_val = dataset.labels.numpy()[val]
    tuned = classification_metrics(y_test, forest, dataset.targets, thresholds=tune_thresholds(y_val, forest_val))
    assert metrics["test_parts_tuned_threshold"]["forest alone"]["f1_macro"] == pytest.approx(tuned["f1_macro"])


def test_a_regression_blend_takes_the_weight_best_on_validation_and_averages_in_the_targets_units(data_dir, tmp_path):
    dataset, _ = _molecules(data_dir, "delaney", 240)
    metrics = train(dataset, tmp_path / "run", _config(forest_trees=20, target_transform="none"), progress=False)
    choice = json.loads((tmp_path / "run" / "run.json").read_text())["forest"]  # forest_weight "auto", the default
    split = make_split("random", len(dataset), seed=0)
    run, network_val, forest_val = _network_and_forest(tmp_path / "run", dataset, split.val)
    y_val = run.scaler.scale(dataset.labels[torch.as_tensor(split.val)]).double().numpy()
    network_val = run.scaler.scale(torch.as_tensor(network_val)).double().numpy()
    errors = {w: np.abs(w * network_val + (1 - w) * forest_val - y_val).mean() for w in WEIGHTS}
    weight = choice["weight"]
    assert choice["weight_chosen_on"] == "validation" and weight == min(errors, key=errors.get)
    assert choice["validation_scores"][str(weight)] == pytest.approx(-errors[weight], abs=1e-5)
    test = split.test
    run, network, forest = _network_and_forest(tmp_path / "run", dataset, test)
    blended = weight * network + (1 - weight) * run.scaler.unscale(torch.as_tensor(forest)).numpy()
    _, predicted, _ = predict_batches(run.model, expanded_batches(dataset[torch.as_tensor(test)], 64), run.task, run.scaler,
                                      "cpu")
    np.testing.assert_allclose(predicted, blended, rtol=1e-4, atol=1e-4)
    assert metrics["test_baselines"]["random forest on the descriptors"]  # the baselines stand beside the blend


def test_the_chosen_weight_is_the_part_that_ranks_validation_best():
    y = np.array([[0, 1], [0, 1], [1, 0], [1, np.nan], [0, 0], [1, 1]], dtype=float)
    right = np.where(np.isnan(y), 0.5, y)
    wrong = 1 - right  # ranks every label backwards
    weight, scores = choose_weight(y, right, wrong, classify=True)  # the network ranks right: any share above 0.5 is
    assert weight == 0.6 and scores["0.6"] == scores["1.0"] == 1.0 and scores["0.4"] == 0.0  # perfect; the nearest wins
    assert choose_weight(y, wrong, right, classify=True)[0] == 0.4  # the forest ranks right
    weight, scores = choose_weight(y, right, right, classify=True)
    assert weight == 0.5 and set(scores.values()) == {1.0}  # a tie goes to the even blend
    one_class = np.ones((4, 1))
    assert choose_weight(one_class, one_class, one_class, classify=True) == (0.5, {str(w): None for w in WEIGHTS})
    assert choose_weight(np.array([[1.0], [3.0]]), np.array([[2.0], [2.0]]), np.array([[1.0], [3.0]]), classify=False)[0] == 0.0


def test_a_blended_run_with_a_modified_forest_is_refused(tox21, tmp_path):
    dataset, _ = tox21
    train(dataset, tmp_path / "run", _config(epochs=1, forest_trees=5), progress=False)
    forest = tmp_path / "run" / "forest.pt"
    state = torch.load(forest, weights_only=True)
    state["trees.value"] = torch.flip(state["trees.value"], [0])
    torch.save(state, forest)
    with pytest.raises(CheckpointError, match="forest.pt"):
        load_run(tmp_path / "run")


def test_a_forest_blend_needs_a_fingerprint_or_descriptors(data_dir, tmp_path):
    frame = pd.read_csv(data_dir / "molnet" / "delaney.csv").iloc[:60]
    dataset = dataset_from_inputs(frame["smiles"].tolist(), frame[["logp"]].to_numpy(float), MoleculeFeaturizer(),
                                  targets=["logp"], name="esol60")
    with pytest.raises(ConfigError, match="forest_trees"):
        train(dataset, tmp_path / "run", TrainConfig(model="attentivefp", epochs=1, forest_trees=10), progress=False)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match="forest_weight"):
        TrainConfig(forest_trees=10, forest_weight=1.5)
    with pytest.raises(ConfigError, match="forest kind"):
        fit_forests(np.zeros((4, 2)), np.zeros((4, 1)), np.arange(4), 0, 5, classify=False, kind="gradient")
