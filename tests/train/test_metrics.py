import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import f1_score, mean_absolute_error, mean_squared_error, r2_score

from molgnn.train.metrics import classification_metrics, regression_metrics, tune_thresholds

NAN = np.nan
# Label a: TP 1, FN 1, FP 1, TN 1 -> P = R = F1 = 1/2.  Label b: TP 2, FN 1 -> P = 1, R = 2/3, F1 = 4/5.
Y_TRUE = np.array([[1, 1], [1, 0], [0, 1], [0, 1]], dtype=float)
Y_PROB = np.array([[0.9, 0.8], [0.2, 0.1], [0.7, 0.6], [0.1, 0.3]])


def test_known_confusion_matrices_give_known_scores():
    scores = classification_metrics(Y_TRUE, Y_PROB, ["a", "b"])
    assert scores["per_label"]["a"]["f1"] == pytest.approx(0.5)
    assert scores["per_label"]["b"] == pytest.approx({"roc_auc": 1.0, "pr_auc": 1.0, "precision": 1.0, "recall": 2 / 3, "f1": 0.8,
                                                      "threshold": 0.5, "n_observed": 4, "n_positive": 3})
    # Micro pools TP 3, FP 1, FN 2.
    assert scores["precision_micro"] == pytest.approx(0.75)
    assert scores["recall_micro"] == pytest.approx(0.6)
    assert scores["f1_micro"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert scores["f1_macro"] == pytest.approx(0.65)
    assert scores["precision_macro"] == pytest.approx(0.75)
    assert scores["recall_macro"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert scores["per_label"]["a"]["roc_auc"] == pytest.approx(0.75)
    assert scores["roc_auc"] == pytest.approx((0.75 + 1) / 2) and scores["skipped"] == []


def test_perfect_ranking_scores_one():
    y = np.array([0, 0, 1, 0, 1, 1], dtype=float)
    scores = classification_metrics(y, np.array([0.1, 0.2, 0.35, 0.3, 0.8, 0.9]), ["only"])
    assert scores["roc_auc"] == 1.0 and scores["pr_auc"] == 1.0


def test_missing_labels_change_nothing_whatever_is_predicted_there():
    rng = np.random.default_rng(0)
    y_true = np.vstack([Y_TRUE, [[NAN, NAN], [NAN, 1], [0, NAN]]])
    observed_only = np.vstack([Y_TRUE, [[NAN, 1], [0, NAN]]]), np.vstack([Y_PROB, [[0.0, 0.95], [0.05, 0.0]]])
    reference = classification_metrics(*observed_only, ["a", "b"])
    for filler in (rng.random(3), np.zeros(3), np.ones(3), np.full(3, NAN)):
        y_prob = np.vstack([Y_PROB, [[filler[0], filler[1]], [filler[2], 0.95], [0.05, filler[0]]]])
        assert classification_metrics(y_true, y_prob, ["a", "b"]) == reference


def test_single_class_and_empty_labels_are_skipped_from_auc_means():
    y_true = np.array([[1, 0, NAN], [0, 0, NAN], [1, 0, NAN]])
    y_prob = np.array([[0.8, 0.7, 0.5], [0.3, 0.2, 0.5], [0.6, 0.1, 0.5]])
    scores = classification_metrics(y_true, y_prob, ["mixed", "negatives", "unmeasured"])
    assert scores["skipped"] == ["negatives", "unmeasured"]
    assert scores["per_label"]["negatives"]["roc_auc"] is None and scores["per_label"]["negatives"]["pr_auc"] is None
    assert scores["roc_auc"] == 1.0 and scores["pr_auc"] == 1.0
    # The one-class label still has precision (0: one false positive); the unmeasured one has none.
    assert scores["per_label"]["negatives"]["precision"] == 0.0
    assert scores["per_label"]["unmeasured"] == {"roc_auc": None, "pr_auc": None, "precision": None, "recall": None, "f1": None,
                                                 "threshold": 0.5, "n_observed": 0, "n_positive": 0}
    assert scores["f1_macro"] == pytest.approx((1.0 + 0.0) / 2)


def test_nothing_observed_gives_none_not_an_error():
    scores = classification_metrics(np.full((3, 2), NAN), np.full((3, 2), 0.5), ["a", "b"])
    assert scores["roc_auc"] is None and scores["f1_micro"] is None and scores["f1_macro"] is None


def test_per_label_thresholds():
    scores = classification_metrics(Y_TRUE, Y_PROB, ["a", "b"], thresholds=[0.8, 0.25])
    assert scores["per_label"]["a"]["f1"] == pytest.approx(2 / 3)  # only 0.9 is called positive: P 1, R 1/2
    assert scores["per_label"]["b"]["f1"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one per label"):
        classification_metrics(Y_TRUE, Y_PROB, ["a", "b"], thresholds=[0.5, 0.5, 0.5])


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="predictions are NaN or infinite where a label exists"):
        classification_metrics(Y_TRUE, np.where(Y_PROB > 0.85, NAN, Y_PROB), ["a", "b"])
    with pytest.raises(ValueError, match="0, 1 or NaN"):
        classification_metrics(Y_TRUE * 2, Y_PROB, ["a", "b"])
    with pytest.raises(ValueError, match="1 names given for 2 columns"):
        classification_metrics(Y_TRUE, Y_PROB, ["a"])
    with pytest.raises(ValueError, match="one shape"):
        classification_metrics(Y_TRUE, Y_PROB[:3], ["a", "b"])


def test_tuned_thresholds_improve_validation_f1():
    rng = np.random.default_rng(0)
    # Scores of a model that ranks well but is badly calibrated: positives near 0.3, negatives near 0.1.
    truth = (rng.random((400, 2)) < 0.2).astype(float)
    prob = np.where(truth == 1, rng.normal(0.3, 0.05, truth.shape), rng.normal(0.1, 0.05, truth.shape)).clip(0, 1)
    truth[:50, 1] = NAN
    truth_one_class = np.column_stack([truth, np.zeros(400)])
    prob_one_class = np.column_stack([prob, rng.random(400)])
    thresholds = tune_thresholds(truth_one_class, prob_one_class)
    assert thresholds[2] == 0.5 and (thresholds[:2] < 0.3).all()
    for j in range(2):
        keep = ~np.isnan(truth[:, j])
        default = f1_score(truth[keep, j], prob[keep, j] >= 0.5, zero_division=0)
        tuned = f1_score(truth[keep, j], prob[keep, j] >= thresholds[j])
        assert default == 0.0 and tuned > 0.9
    scores = classification_metrics(truth, prob, ["a", "b"], thresholds=thresholds[:2])
    assert scores["f1_macro"] > 0.9 > classification_metrics(truth, prob, ["a", "b"])["f1_macro"]


def test_tuned_threshold_is_the_best_on_the_same_data():
    truth = np.array([0, 1, 0, 1, 1, 0, 1, 0, 0, 1], dtype=float)
    prob = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.6, 0.7, 0.05, 0.3, 0.45])
    best = tune_thresholds(truth, prob)[0]
    best_f1 = max(f1_score(truth, prob >= t) for t in prob)
    assert f1_score(truth, prob >= best) == pytest.approx(best_f1)


def test_regression_metrics_equal_sklearn_on_observed_entries():
    rng = np.random.default_rng(1)
    y_true = rng.normal(size=(50, 3))
    y_pred = y_true + rng.normal(scale=0.3, size=(50, 3))
    y_true[rng.random((50, 3)) < 0.3] = NAN
    y_pred[np.isnan(y_true) & (rng.random((50, 3)) < 0.5)] = NAN  # a missing label's prediction may be anything
    scores = regression_metrics(y_true, y_pred, ["u", "v", "w"])
    for j, name in enumerate(["u", "v", "w"]):
        keep = ~np.isnan(y_true[:, j])
        truth, guess = y_true[keep, j], y_pred[keep, j]
        assert scores["per_target"][name] == pytest.approx({
            "mae": mean_absolute_error(truth, guess), "rmse": np.sqrt(mean_squared_error(truth, guess)),
            "r2": r2_score(truth, guess), "spearman": spearmanr(truth, guess)[0], "n_observed": int(keep.sum())})
    assert scores["mae"] == pytest.approx(np.mean([s["mae"] for s in scores["per_target"].values()]))


def test_regression_undefined_scores_are_none_and_left_out_of_means():
    y_true = np.array([[1.0, 2.0, NAN], [2.0, 2.0, NAN], [3.0, 2.0, 5.0]])
    y_pred = np.array([[1.0, 1.0, 0.0], [2.0, 2.0, 0.0], [3.0, 3.0, 4.0]])
    scores = regression_metrics(y_true, y_pred, ["x", "constant", "single"])
    assert scores["per_target"]["constant"]["spearman"] is None
    assert scores["per_target"]["single"] == {"mae": 1.0, "rmse": 1.0, "r2": None, "spearman": None, "n_observed": 1}
    assert scores["spearman"] == 1.0
    assert scores["mae"] == pytest.approx((0 + 2 / 3 + 1) / 3)
    with pytest.raises(ValueError, match="first: row 0, column 0"):
        regression_metrics(y_true, np.where(y_pred == 1.0, NAN, y_pred), ["x", "constant", "single"])
