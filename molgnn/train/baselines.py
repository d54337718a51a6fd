"""The simple alternatives a model is reported next to, on the same split."""

from __future__ import annotations

import numpy as np

from molgnn.data.splits import Split
from molgnn.train.forest import filled, fit_forests, forest_features, forest_predictions
from molgnn.train.metrics import classification_metrics, regression_metrics, tune_thresholds


def regression_baselines(dataset, split: Split, seed: int = 0) -> dict:
    """Test metrics of the training mean and, when the graphs carry global descriptors, of a random
    forest on them (scikit-learn, 300 trees), both fitted on the training and validation graphs.

    A model is worth using only when it beats these on the same split; ``metrics.json`` reports them
    under ``test_baselines`` and ``molgnn train`` prints them next to the model's figures.
    """
    y = dataset.labels.double().numpy()
    fit, test = np.concatenate([split.train, split.val]).astype(int), np.asarray(split.test, dtype=int)
    predictions = {"mean predictor": np.tile(np.nanmean(y[fit], axis=0), (len(test), 1))}
    descriptors = dataset.descriptors
    if descriptors is not None:
        features = descriptors.double().numpy()
        predictions["random forest on the descriptors"] = forest_predictions(
            fit_forests(features, y, fit, seed, trees=300, classify=False), features[test])
    keep = ("mae", "rmse", "r2", "spearman")
    return {name: {target: {k: scores[k] for k in keep}
                   for target, scores in regression_metrics(y[test], pred, dataset.targets)["per_target"].items()}
            for name, pred in predictions.items()}


def classification_baselines(dataset, split: Split, seed: int = 0, trees: int = 200) -> dict:
    """Test metrics of the training prevalence and of a random forest per label on the graphs'
    fingerprints and descriptors (whichever they carry; scikit-learn, ``trees`` trees), as a multilabel
    classifier's simple alternatives on the same split.

    Both are fitted on the training graphs only, with missing labels left out label by label (a NaN
    descriptor is filled with the training median); as for molgnn's runs, the validation graphs tune
    the per-label decision thresholds (``"test_tuned_threshold"``).

    Returns:
        ``{name: {"test": metrics, "test_tuned_threshold": metrics}}`` with ``classification_metrics``'s
        keys, for ``"mean predictor"`` and (when the graphs carry global features) ``"random forest"``.

    Raises:
        ValueError: the split has no training, validation or test graphs.
    """
    if not (len(split.train) and len(split.val) and len(split.test)):
        raise ValueError("classification baselines: the split needs training, validation and test graphs")
    y = dataset.labels.double().numpy()
    train, scored = np.asarray(split.train, dtype=int), np.concatenate([split.val, split.test]).astype(int)
    prevalence = np.nan_to_num(np.nanmean(y[train], axis=0), nan=0.5)
    predictions = {"mean predictor": np.tile(prevalence, (len(scored), 1))}
    found = forest_features(dataset)
    if found is not None:
        features, _ = filled(found[0], train)
        predictions["random forest"] = forest_predictions(fit_forests(features, y, train, seed, trees, classify=True),
                                                          features[scored])
    return {name: _scored_metrics(y[scored], probabilities, len(split.val), dataset.targets)
            for name, probabilities in predictions.items()}


def _scored_metrics(y_true: np.ndarray, probabilities: np.ndarray, n_val: int, targets) -> dict:
    """Test metrics at 0.5 and at the per-label thresholds tuned on validation, from predictions over the
    validation graphs followed by the test graphs."""
    tuned = tune_thresholds(y_true[:n_val], probabilities[:n_val])
    test_true, test = y_true[n_val:], probabilities[n_val:]
    return {"test": classification_metrics(test_true, test, targets),
            "test_tuned_threshold": classification_metrics(test_true, test, targets, thresholds=tuned)}
