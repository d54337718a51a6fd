"""The simple alternatives a regression run is reported next to, on the same split."""

from __future__ import annotations

import numpy as np

from molgnn.data.splits import Split
from molgnn.train.metrics import regression_metrics


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
        predictions["random forest on the descriptors"] = _forest(descriptors.double().numpy(), y, fit, test, seed)
    keep = ("mae", "rmse", "r2", "spearman")
    return {name: {target: {k: scores[k] for k in keep}
                   for target, scores in regression_metrics(y[test], pred, dataset.targets)["per_target"].items()}
            for name, pred in predictions.items()}


def _forest(features: np.ndarray, y: np.ndarray, fit: np.ndarray, test: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.ensemble import RandomForestRegressor

    columns = []
    for j in range(y.shape[1]):
        rows = fit[np.isfinite(y[fit, j])]
        forest = RandomForestRegressor(n_estimators=300, n_jobs=1, random_state=seed)
        columns.append(forest.fit(features[rows], y[rows, j]).predict(features[test]))
    return np.stack(columns, axis=1)


