"""Imbalance measures for multilabel data: IRLbl, MeanIR, MaxIR, CVIR, SCUMBLE, cardinality, density.

The measures are those of Charte, Rivera, del Jesus & Herrera: IRLbl, MeanIR and CVIR from
"Addressing imbalance in multilabel classification: Measures and random resampling algorithms",
Neurocomputing 163 (2015) 3-16; SCUMBLE from "Dealing with difficult minority labels in
imbalanced multilabel data sets", Neurocomputing 326-327 (2019) 39-53 (first at HAIS 2014).

A label matrix ``Y`` is ``[n, L]`` with 0, 1 and NaN for a missing label. A missing label is
unknown, neither positive nor negative: every measure counts observed entries only. Written with
numpy because the multilabel libraries that compute these measures (R's ``mldr``, scikit-multilearn)
take complete 0/1 matrices, and filling NaN with 0 would turn every unknown into a negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from molgnn.errors import DataError
from molgnn.tasks import check_class_labels


def check_labels(Y: np.ndarray) -> np.ndarray:
    """``Y`` as a float ``[n, L]`` array after checking it holds only 0, 1 and NaN.

    Raises:
        DataError: for another shape, or naming the first label column with another value.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2:
        raise DataError(f"labels must be a [n, L] array, got shape {Y.shape}")
    check_class_labels(Y, "imbalance measures")
    return Y


def positive_counts(Y: np.ndarray) -> np.ndarray:
    """Positives per label (``[L]`` int); NaN compares unequal to 1, so missing is not positive."""
    return (np.asarray(Y) == 1).sum(axis=0).astype(np.int64)


def irlbl_from_counts(counts: np.ndarray) -> np.ndarray:
    """IRLbl per label: positives of the most frequent label over positives of this label.

    A label without positives has no defined ratio; it gets ``inf`` so that it stands out in a
    table, and the summaries (MeanIR, MaxIR, CVIR) leave it out.
    """
    counts = np.asarray(counts, dtype=float)
    most = counts.max(initial=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = most / counts
    ratio[counts == 0] = np.inf
    return ratio


def irlbl(Y: np.ndarray) -> np.ndarray:
    """IRLbl per label of the label matrix ``Y`` (see ``irlbl_from_counts``)."""
    return irlbl_from_counts(positive_counts(check_labels(Y)))


def summarize_irlbl(ratios: np.ndarray) -> tuple[float, float, float]:
    """``(MeanIR, MaxIR, CVIR)`` over the finite IRLbl values.

    CVIR is the standard deviation of IRLbl (``ddof=1``, as in Charte et al. 2015) over MeanIR.
    With no finite value all three are NaN; with one, CVIR is NaN (a sample deviation needs two).
    """
    finite = ratios[np.isfinite(ratios)]
    if finite.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(finite.mean())
    cvir = float(finite.std(ddof=1) / mean) if finite.size > 1 else float("nan")
    return mean, float(finite.max()), cvir


def scumble_per_sample(Y: np.ndarray, ratios: np.ndarray | None = None) -> np.ndarray:
    """SCUMBLE of each sample: ``1 - geometric mean / arithmetic mean`` of the IRLbl of its positive labels.

    SCUMBLE is 0 when a sample's labels are equally frequent and approaches 1 when a rare label
    sits with frequent ones, the case in which cloning the sample for its rare label also
    multiplies the frequent ones. Samples with fewer than two positive labels score 0. Only the
    ratios between a sample's IRLbl values matter, so SCUMBLE is unchanged when the most frequent
    label's count moves.
    """
    Y = check_labels(Y)
    ratios = irlbl(Y) if ratios is None else np.asarray(ratios, dtype=float)
    rows, cols = np.nonzero(Y == 1)
    return _scumble_from_entries(rows, ratios[cols], len(Y))


def _scumble_from_entries(rows: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """SCUMBLE from the sparse positive entries ``(row, IRLbl of its label)``, all values finite and > 0."""
    active = np.bincount(rows, minlength=n)
    mean = np.bincount(rows, weights=values, minlength=n)
    log_mean = np.bincount(rows, weights=np.log(values), minlength=n)
    scores = np.zeros(n)
    several = active >= 2
    scores[several] = 1.0 - np.exp(log_mean[several] / active[several]) / (mean[several] / active[several])
    return np.clip(scores, 0.0, 1.0)  # rounding can leave -1e-16 where all ratios are equal


@dataclass
class ImbalanceReport:
    """Imbalance of a multilabel data set, from observed labels only.

    ``cardinality`` is the mean number of positive labels of a sample, ``density`` the mean share of
    a sample's observed labels that are positive (``cardinality / L`` when nothing is missing);
    both average over the samples with at least one observed label. ``mean_scumble`` averages
    over all samples, as in Charte et al. ``labels_without_positives`` names the labels whose IRLbl
    is ``inf`` and which MeanIR, MaxIR and CVIR leave out.
    """

    label_names: list[str]
    positives: np.ndarray
    observed: np.ndarray
    irlbl: np.ndarray
    mean_ir: float
    max_ir: float
    cvir: float
    scumble: np.ndarray
    mean_scumble: float
    cardinality: float
    density: float
    labels_without_positives: list[str]
    labels: np.ndarray = field(repr=False)

    @classmethod
    def from_labels(cls, Y: np.ndarray, label_names: Sequence[str] | None = None) -> ImbalanceReport:
        """Measure the label matrix ``Y`` (``[n, L]``, 0/1/NaN); names default to ``label_0 ...``."""
        Y = check_labels(Y)
        names = [f"label_{j}" for j in range(Y.shape[1])] if label_names is None else [str(name) for name in label_names]
        if len(names) != Y.shape[1]:
            raise DataError(f"{len(names)} label names given for {Y.shape[1]} label columns")
        observed = ~np.isnan(Y)
        positives = positive_counts(Y)
        ratios = irlbl_from_counts(positives)
        mean_ir, max_ir, cvir = summarize_irlbl(ratios)
        scumble = scumble_per_sample(Y, ratios)
        seen = observed.sum(axis=1)
        active = (Y == 1).sum(axis=1)
        some = seen > 0
        return cls(
            label_names=names, positives=positives, observed=observed.sum(axis=0), irlbl=ratios,
            mean_ir=mean_ir, max_ir=max_ir, cvir=cvir, scumble=scumble,
            mean_scumble=float(scumble.mean()) if len(Y) else float("nan"),
            cardinality=float(active[some].mean()) if some.any() else float("nan"),
            density=float((active[some] / seen[some]).mean()) if some.any() else float("nan"),
            labels_without_positives=[name for name, count in zip(names, positives) if count == 0],
            labels=Y,
        )

    def to_dict(self) -> dict:
        """The summary measures, JSON-ready (an undefined value is ``None``)."""
        def number(value: float) -> float | None:
            return float(value) if np.isfinite(value) else None

        return {
            "n_samples": int(len(self.labels)), "n_labels": len(self.label_names),
            "mean_ir": number(self.mean_ir), "max_ir": number(self.max_ir), "cvir": number(self.cvir),
            "mean_scumble": number(self.mean_scumble), "cardinality": number(self.cardinality),
            "density": number(self.density), "labels_without_positives": list(self.labels_without_positives),
        }

    def table(self) -> pd.DataFrame:
        """One row per label: ``positives``, ``observed`` and ``irlbl`` (``inf`` without positives)."""
        return pd.DataFrame({"positives": self.positives, "observed": self.observed, "irlbl": self.irlbl},
                            index=pd.Index(self.label_names, name="label"))

    def co_occurrence(self, normalize: bool = False) -> pd.DataFrame:
        """``[L, L]`` counts of samples in which both labels are positive (the diagonal: positives).

        With ``normalize``, each count is divided by the number of samples in which both labels
        are observed, so that labels measured on different subsets compare (NaN where none is).
        """
        positive = (self.labels == 1).astype(np.int64)
        counts = positive.T @ positive
        if normalize:
            observed = (~np.isnan(self.labels)).astype(np.int64)
            both = observed.T @ observed
            with np.errstate(divide="ignore", invalid="ignore"):
                counts = np.where(both > 0, counts / both, np.nan)
        return pd.DataFrame(counts, index=self.label_names, columns=self.label_names)
