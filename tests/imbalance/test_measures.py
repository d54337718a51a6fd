import json
import math

import numpy as np
import pytest

from molgnn.imbalance.measures import ImbalanceReport, irlbl, scumble_per_sample

NAN = np.nan
# Six samples, three labels, with missing entries:
#          a    b    c
HAND = np.array([
    [1, 1, NAN],    # s0: a, b
    [1, 0, 0],      # s1: a
    [1, NAN, 0],    # s2: a
    [NAN, 1, 1],    # s3: b, c
    [1, 0, NAN],    # s4: a
    [1, NAN, NAN],  # s5: a
])


def test_measures_by_hand_with_missing_labels():
    report = ImbalanceReport.from_labels(HAND, ["a", "b", "c"])
    # positives a = 5 (s0 s1 s2 s4 s5), b = 2 (s0 s3), c = 1 (s3); observed a = 5, b = 4, c = 3
    np.testing.assert_array_equal(report.positives, [5, 2, 1])
    np.testing.assert_array_equal(report.observed, [5, 4, 3])
    # IRLbl = 5/5, 5/2, 5/1
    np.testing.assert_allclose(report.irlbl, [1.0, 2.5, 5.0])
    # MeanIR = (1 + 2.5 + 5) / 3 = 17/6; MaxIR = 5
    assert report.mean_ir == pytest.approx(17 / 6)
    assert report.max_ir == 5.0
    # deviations from 17/6: -11/6, -2/6, 13/6; squares sum to 294/36 = 49/6; / (3 - 1) = 49/12
    # std = 7 / (2 sqrt 3); CVIR = std / MeanIR = 21 / (17 sqrt 3) = 0.7132
    assert report.cvir == pytest.approx(21 / (17 * math.sqrt(3)))
    # s0 has IRLbl {1, 2.5}: 1 - sqrt(2.5) / 1.75 = 0.0965; s3 has {2.5, 5} (a is missing): 1 - sqrt(12.5) / 3.75 = 0.0572
    # the others have one positive label: 0
    s0, s3 = 1 - math.sqrt(2.5) / 1.75, 1 - math.sqrt(12.5) / 3.75
    np.testing.assert_allclose(report.scumble, [s0, 0, 0, s3, 0, 0], atol=1e-12)
    assert report.mean_scumble == pytest.approx((s0 + s3) / 6)
    # positives per sample 2, 1, 1, 2, 1, 1 -> cardinality 8/6
    # positives / observed per sample: 2/2, 1/3, 1/2, 2/2, 1/2, 1/1 -> density (26/6) / 6 = 13/18
    assert report.cardinality == pytest.approx(8 / 6)
    assert report.density == pytest.approx(13 / 18)
    assert report.labels_without_positives == []


def test_co_occurrence_by_hand():
    report = ImbalanceReport.from_labels(HAND, ["a", "b", "c"])
    # a & b: s0; a & c: none (s3's a is missing); b & c: s3; the diagonal holds the positives
    np.testing.assert_array_equal(report.co_occurrence().to_numpy(), [[5, 1, 0], [1, 2, 1], [0, 1, 1]])
    # both observed: a & b in s0 s1 s4 (3), a & c in s1 s2 (2), b & c in s1 s3 (2); a 5, b 4, c 3
    np.testing.assert_allclose(report.co_occurrence(normalize=True).to_numpy(),
                               [[5 / 5, 1 / 3, 0 / 2], [1 / 3, 2 / 4, 1 / 2], [0 / 2, 1 / 2, 1 / 3]])
    assert list(report.co_occurrence().columns) == ["a", "b", "c"]


def test_table_has_one_row_per_label():
    table = ImbalanceReport.from_labels(HAND, ["a", "b", "c"]).table()
    assert list(table.index) == ["a", "b", "c"]
    assert list(table.columns) == ["positives", "observed", "irlbl"]
    assert table.loc["c", "irlbl"] == 5.0


def test_labels_without_positives_are_inf_reported_and_left_out():
    all_negative = np.zeros((len(HAND), 1))
    all_missing = np.full((len(HAND), 1), NAN)
    report = ImbalanceReport.from_labels(np.hstack([HAND, all_negative, all_missing]), ["a", "b", "c", "never", "unknown"])
    assert np.isinf(report.irlbl[3:]).all()
    assert report.labels_without_positives == ["never", "unknown"]
    assert report.mean_ir == pytest.approx(17 / 6)  # as without them
    assert report.cvir == pytest.approx(21 / (17 * math.sqrt(3)))
    np.testing.assert_allclose(report.scumble, ImbalanceReport.from_labels(HAND).scumble)
    assert report.to_dict()["labels_without_positives"] == ["never", "unknown"]


def test_degenerate_matrices_give_undefined_values_not_errors():
    one_label = ImbalanceReport.from_labels(np.array([[1.0], [0.0], [NAN]]))
    assert one_label.mean_ir == 1.0 and math.isnan(one_label.cvir)  # a sample deviation needs two labels
    assert one_label.to_dict()["cvir"] is None
    nothing = ImbalanceReport.from_labels(np.full((3, 2), NAN))
    assert nothing.to_dict()["mean_ir"] is None and nothing.to_dict()["cardinality"] is None
    assert nothing.mean_scumble == 0.0


def test_scumble_ignores_the_scale_of_irlbl():
    # SCUMBLE depends on ratios between a sample's IRLbl values only
    ratios = irlbl(HAND)
    np.testing.assert_allclose(scumble_per_sample(HAND, ratios * 7.0), scumble_per_sample(HAND, ratios))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="label column 1"):
        ImbalanceReport.from_labels(np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"\[n, L\]"):
        ImbalanceReport.from_labels(np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="2 label names given for 3"):
        ImbalanceReport.from_labels(HAND, ["a", "b"])


def test_report_on_real_data_is_json_ready(train_set):
    report = ImbalanceReport.from_labels(train_set.Y, train_set.label_names)
    summary = report.to_dict()
    json.dumps(summary)
    assert summary["n_labels"] == len(train_set.label_names) == len(report.table())
    assert summary["mean_ir"] >= 1.0 and 0.0 <= summary["mean_scumble"] < 1.0
    assert 0.0 < summary["density"] < 1.0
    co_occurrence = report.co_occurrence().to_numpy()
    np.testing.assert_array_equal(np.diag(co_occurrence), report.positives)
    np.testing.assert_array_equal(co_occurrence, co_occurrence.T)
