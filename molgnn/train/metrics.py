"""Evaluation metrics for multi-label classification and multi-target regression.

Inputs are numpy arrays ``[n, T]`` (a 1-D array is one label); NaN in ``y_true`` marks a missing
label, and that entry is ignored for its label only, whatever the prediction there is. Results
are plain dicts of floats and ``None`` (for a score that is undefined), ready for JSON.
All scores come from scikit-learn (and scipy for Spearman's rho).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import (
    average_precision_score,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_curve,
    precision_recall_fscore_support,
    r2_score,
    roc_auc_score,
)

from molgnn.errors import ConfigError, DataError
from molgnn.tasks import check_class_labels, is_classification


def classification_metrics(y_true: np.ndarray, y_prob: np.ndarray, label_names: Sequence[str],
                           thresholds: float | Sequence[float] | np.ndarray = 0.5) -> dict:
    """ROC-AUC, PR-AUC and thresholded precision / recall / F1 over the observed labels.

    A label is scored by ROC-AUC and PR-AUC (average precision) only when its observed values hold
    both classes; otherwise its AUCs are ``None`` and it is listed in ``"skipped"``. ``"roc_auc"``
    and ``"pr_auc"`` average the scored labels (``None`` if there are none). A probability at or
    above the label's threshold predicts positive. Micro scores pool every observed
    (sample, label) pair; macro scores average the per-label scores of labels with at least one
    observed entry. Precision or recall with an empty denominator counts as 0.

    Returns:
        ``{"roc_auc", "pr_auc", "precision_micro", "recall_micro", "f1_micro", "precision_macro",
        "recall_macro", "f1_macro", "skipped": [names], "per_label": {name: {"roc_auc", "pr_auc",
        "precision", "recall", "f1", "threshold", "n_observed", "n_positive"}}}``.
    """
    y_true, y_prob = _paired(y_true, y_prob, label_names)
    observed = _observed(y_true, y_prob)
    check_class_labels(y_true, "classification_metrics")
    cutoffs = _thresholds(thresholds, len(label_names))
    predicted = (y_prob >= cutoffs).astype(float)
    per_label, skipped = {}, []
    for j, name in enumerate(label_names):
        mask = observed[:, j]
        truth, prob, guess = y_true[mask, j], y_prob[mask, j], predicted[mask, j]
        both_classes = 0 < truth.sum() < len(truth)
        if not both_classes:
            skipped.append(name)
        precision, recall, f1 = _precision_recall_f1(truth, guess)
        per_label[name] = {
            "roc_auc": float(roc_auc_score(truth, prob)) if both_classes else None,
            "pr_auc": float(average_precision_score(truth, prob)) if both_classes else None,
            "precision": precision, "recall": recall, "f1": f1,
            "threshold": float(cutoffs[j]), "n_observed": int(mask.sum()), "n_positive": int(truth.sum()),
        }
    micro = _precision_recall_f1(y_true[observed], predicted[observed])
    return {
        "roc_auc": _mean(s["roc_auc"] for s in per_label.values()),
        "pr_auc": _mean(s["pr_auc"] for s in per_label.values()),
        "precision_micro": micro[0], "recall_micro": micro[1], "f1_micro": micro[2],
        "precision_macro": _mean(s["precision"] for s in per_label.values()),
        "recall_macro": _mean(s["recall"] for s in per_label.values()),
        "f1_macro": _mean(s["f1"] for s in per_label.values()),
        "skipped": skipped,
        "per_label": per_label,
    }


def tune_thresholds(y_true: np.ndarray, y_prob: np.ndarray) -> np.ndarray:
    """Per label, the probability threshold that maximizes F1 on these (validation) data.

    Thresholds are the scores where the precision-recall curve changes, so predicting positive
    for ``y_prob >= threshold`` reproduces the best F1 on the same data. A label without both
    classes among its observed entries keeps 0.5.
    """
    y_true, y_prob = _paired(y_true, y_prob)
    observed = _observed(y_true, y_prob)
    best = np.full(y_true.shape[1], 0.5)
    for j in range(y_true.shape[1]):
        truth, prob = y_true[observed[:, j], j], y_prob[observed[:, j], j]
        if not 0 < truth.sum() < len(truth):
            continue
        precision, recall, cutoffs = precision_recall_curve(truth, prob)
        # The curve's last point (precision 1, recall 0) has no threshold.
        denominator = precision[:-1] + recall[:-1]
        f1 = np.divide(2 * precision[:-1] * recall[:-1], denominator, out=np.zeros_like(denominator), where=denominator > 0)
        best[j] = cutoffs[np.argmax(f1)]
    return best


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, target_names: Sequence[str]) -> dict:
    """MAE, RMSE, R² and Spearman's rho per target over its observed entries, and their means.

    A score that is undefined for a target is ``None`` and left out of the mean: every score when
    nothing is observed, R² and rho with fewer than two observations, rho when the truth or the
    prediction is constant.

    Returns:
        ``{"mae", "rmse", "r2", "spearman", "per_target": {name: {"mae", "rmse", "r2", "spearman",
        "n_observed"}}}``, the top-level scores being means over targets.
    """
    y_true, y_pred = _paired(y_true, y_pred, target_names)
    observed = _observed(y_true, y_pred)
    per_target = {}
    for j, name in enumerate(target_names):
        truth, guess = y_true[observed[:, j], j], y_pred[observed[:, j], j]
        some, several = len(truth) > 0, len(truth) > 1
        varied = several and np.ptp(truth) > 0 and np.ptp(guess) > 0
        per_target[name] = {
            "mae": float(mean_absolute_error(truth, guess)) if some else None,
            # sqrt of the MSE rather than root_mean_squared_error, which needs scikit-learn >= 1.4
            "rmse": float(np.sqrt(mean_squared_error(truth, guess))) if some else None,
            "r2": float(r2_score(truth, guess)) if several else None,
            "spearman": float(spearmanr(truth, guess)[0]) if varied else None,
            "n_observed": len(truth),
        }
    means = {score: _mean(s[score] for s in per_target.values()) for score in ("mae", "rmse", "r2", "spearman")}
    return {**means, "per_target": per_target}


def _paired(y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float ``[n, T]``, checked against each other and the names."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    y_true = y_true[:, None] if y_true.ndim == 1 else y_true
    y_pred = y_pred[:, None] if y_pred.ndim == 1 else y_pred
    if y_true.ndim != 2 or y_true.shape != y_pred.shape:
        raise DataError(f"truth and predictions must be [n, T] arrays of one shape, got {y_true.shape} and {y_pred.shape}")
    if names is not None and len(names) != y_true.shape[1]:
        raise DataError(f"{len(names)} names given for {y_true.shape[1]} columns")
    return y_true, y_pred


def _observed(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Mask of entries with a label; a missing prediction there is a bug upstream, not a skip."""
    observed = ~np.isnan(y_true)
    bad = observed & ~np.isfinite(y_pred)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise DataError(f"{int(bad.sum())} predictions are NaN or infinite where a label exists (first: row {row}, column {column})")
    return observed


def _thresholds(thresholds: float | Sequence[float] | np.ndarray, n_labels: int) -> np.ndarray:
    cutoffs = np.asarray(thresholds, dtype=float)
    if cutoffs.ndim == 0:
        cutoffs = np.full(n_labels, float(cutoffs))
    if cutoffs.shape != (n_labels,):
        raise ConfigError(f"thresholds must be one number or one per label ({n_labels}), got shape {cutoffs.shape}")
    return cutoffs


def _precision_recall_f1(truth: np.ndarray, predicted: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """Scores of the positive class; ``None`` when there is nothing to score."""
    if len(truth) == 0:
        return None, None, None
    precision, recall, f1, _ = precision_recall_fscore_support(truth, predicted, average="binary", zero_division=0)
    return float(precision), float(recall), float(f1)


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def task_metrics(task: str, y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str],
                 thresholds: float | Sequence[float] | np.ndarray = 0.5) -> dict:
    """``classification_metrics`` (at ``thresholds``) or ``regression_metrics``, as ``task`` calls for."""
    if is_classification(task):
        return classification_metrics(y_true, y_pred, names, thresholds)
    return regression_metrics(y_true, y_pred, names)

