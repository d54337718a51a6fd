import numpy as np
import pytest

from molgnn.errors import DataError
from molgnn.tasks import are_class_labels, check_class_labels, infer_task, is_classification

NAN = np.nan


def test_tasks_follow_the_card_and_the_labels():
    labels = np.array([[0, 1], [1, NAN], [NAN, 0]], dtype=float)
    assert infer_task(None, labels) == "multilabel" and infer_task(None, labels[:, :1]) == "binary"
    assert infer_task(None, np.array([[0.5], [2.0]])) == "regression"
    assert infer_task("regression", labels) == "multiregression"  # the card decides; the count of targets too
    assert infer_task("multilabel", labels[:, :1]) == "binary"
    assert not are_class_labels(np.full((3, 1), NAN))  # nothing observed: no evidence of classes
    assert is_classification("binary") and not is_classification("multiregression")


def test_class_labels_are_checked_column_by_column():
    check_class_labels(np.array([[0, 1], [NAN, 1]]), "a test")
    with pytest.raises(DataError, match="a test needs class labels 0, 1 or NaN .*label column 1 has other values"):
        check_class_labels(np.array([[0, 1], [1, 2]]), "a test")
    with pytest.raises(ValueError, match="label column 0"):
        check_class_labels(np.array([0.0, 0.5]), "a test")
