"""Tasks and labels: which tasks are classifications, the task of a label matrix, and the check of class labels.

A label matrix is ``[n, T]`` float with NaN where a label is missing. Classification tasks
(``multilabel``: several 0/1 labels, ``binary``: one) hold only 0, 1 and NaN; regression tasks
(``multiregression``: several targets, ``regression``: one) hold any numbers. numpy only.
"""

from __future__ import annotations

import numpy as np

from molgnn.errors import DataError

CLASSIFICATION_TASKS = ("multilabel", "binary")
REGRESSION_TASKS = ("regression", "multiregression")
TASKS = CLASSIFICATION_TASKS + REGRESSION_TASKS


def is_classification(task: str) -> bool:
    """Whether ``task`` predicts class probabilities (sigmoid outputs) rather than values."""
    return task in CLASSIFICATION_TASKS


def are_class_labels(y: np.ndarray) -> bool:
    """Whether ``y`` has observed labels and all of them are 0 or 1."""
    observed = np.asarray(y, dtype=float)
    observed = observed[~np.isnan(observed)]
    return bool(len(observed)) and bool(np.isin(observed, (0.0, 1.0)).all())


def infer_task(declared: str | None, y: np.ndarray) -> str:
    """The ``declared`` task (a dataset card's) fitted to the number of targets of ``y`` (``[n, T]``),
    or without one the task its labels suggest: classification when every observed label is 0 or 1."""
    single = y.shape[1] == 1
    if declared in REGRESSION_TASKS or declared is None and not are_class_labels(y):
        return "regression" if single else "multiregression"
    return "binary" if single else "multilabel"


def check_class_labels(y: np.ndarray, purpose: str) -> None:
    """Raise ``DataError`` naming the first label column of ``y`` (``[n]`` or ``[n, T]``) that holds a
    value other than 0, 1 and NaN; ``purpose`` says what needs class labels (e.g. "a stratified split")."""
    y = np.asarray(y, dtype=float)
    y = y[:, None] if y.ndim == 1 else y
    other = (~np.isnan(y) & (y != 0) & (y != 1)).any(axis=0)
    if other.any():
        raise DataError(f"{purpose} needs class labels 0, 1 or NaN (missing); label column {int(np.flatnonzero(other)[0])} "
                        "has other values")
