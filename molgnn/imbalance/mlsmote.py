"""MLSMOTE (Charte et al. 2015) on molecular fingerprints: recipes for synthetic samples, not the samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from molgnn.errors import ConfigError, DataError
from molgnn.imbalance.base import Oversampler
from molgnn.imbalance.measures import check_labels, irlbl_from_counts, positive_counts

LABEL_RULES = ("ranking", "union", "intersection")


@dataclass
class SyntheticSamples:
    """Synthetic samples as recipes: sample ``r`` interpolates training samples ``seed[r]`` and
    ``neighbour[r]`` with weight ``weight[r]`` in ``[0, 1)`` and has labels ``labels[r]``
    (``[m, L]``, 0/1, NaN where none of the samples that voted observed the label).

    The data layer builds synthetic sample ``r`` as the graph of ``seed[r]`` with the fingerprint
    ``(1 - w) * fp[seed] + w * fp[neighbour]`` (``interpolated_features``) and these labels:
    a molecular graph cannot be interpolated (there is no molecule "between" two others), so the
    graph stays a real one and only the fixed-length fingerprint, which a hybrid graph +
    fingerprint model reads as a float vector, moves towards the neighbour.
    """

    seed: np.ndarray
    neighbour: np.ndarray
    weight: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.seed)

    def interpolated_features(self, features: np.ndarray) -> np.ndarray:
        """``[m, B]`` float32 fingerprints of the synthetic samples from the training set's ``features``."""
        features = np.asarray(features, dtype=np.float32)
        weight = self.weight.astype(np.float32)[:, None]
        return (1 - weight) * features[self.seed] + weight * features[self.neighbour]


class MLSMOTE(Oversampler):
    """MLSMOTE: synthetic samples of minority labels from their nearest neighbours (Charte, Rivera,
    del Jesus & Herrera, "MLSMOTE: Approaching imbalanced multilabel learning through synthetic
    instance generation", Knowledge-Based Systems 89 (2015) 385-397).

    A label is a minority label when its IRLbl exceeds MeanIR. For each of its samples (the seed),
    the ``k`` nearest other samples with the label are found, one of them is drawn as the
    reference neighbour with a random interpolation weight, and the synthetic label set is voted
    by the seed and all ``k`` neighbours: ``"ranking"`` (the paper's default) keeps a label
    positive in more than half of them, ``"union"`` one positive in any, ``"intersection"`` one
    positive in all. Votes count only the samples that observed the label.

    Distances are Tanimoto (Jaccard) distances between fingerprint bit vectors (``features``,
    ``[n, B]`` 0/1): the synthetic sample keeps the seed's graph (see ``SyntheticSamples``), so
    neighbours must be close in the representation that is interpolated, and for bit vectors
    Tanimoto is the similarity under which nearby molecules share activity, unlike a Euclidean
    distance on bits, which counts shared absences. Ties go to the lower position.

    The paper makes one synthetic sample per (minority label, sample with it). Here at most
    ``floor(budget * n)`` are made: the minority labels take turns, each turn taking the next
    seed of the label from a shuffled order, so each label gets an equal share until its samples
    run out. A seed without another sample of its label has no neighbour and is skipped.

    Args:
        budget: synthetic samples to make, as a fraction of the training set.
        seed: seed of the seed order, the neighbour draw and the weights.
        k: neighbours per seed.
        label_rule: ``"ranking"``, ``"union"`` or ``"intersection"``.
    """

    requires = frozenset({"fingerprint"})

    def __init__(self, budget: float = 0.25, seed: int = 0, k: int = 5, label_rule: str = "ranking") -> None:
        super().__init__(budget=budget, seed=seed)
        self.k = k
        self.label_rule = label_rule

    def resample(self, Y_train: np.ndarray, features: np.ndarray | None = None) -> SyntheticSamples:
        """Recipes of the synthetic samples; ``features`` are the training set's fingerprints, ``[n, B]`` 0/1."""
        Y = check_labels(Y_train)
        fingerprints = _check_fingerprints(features, len(Y))
        if self.label_rule not in LABEL_RULES:
            raise ConfigError(f"unknown label rule {self.label_rule!r}; choose one of {', '.join(LABEL_RULES)}")
        if not (isinstance(self.k, int | np.integer) and self.k >= 1):
            raise ConfigError(f"k must be a positive number of neighbours, got {self.k!r}")
        rng = np.random.default_rng(self.seed)
        picks = self._pick_seeds(Y, rng)
        nearest = _nearest_in_bags(fingerprints, Y, picks, self.k)
        seeds = np.asarray([seed for _, seed in picks], dtype=np.int64)
        neighbours = np.asarray([group[rng.integers(len(group))] for group in nearest], dtype=np.int64)
        weights = rng.random(len(picks))
        labels = np.empty((len(picks), Y.shape[1]))
        for row, (seed, group) in enumerate(zip(seeds, nearest)):
            labels[row] = _vote(Y[np.concatenate([[seed], group])], self.label_rule)
        return SyntheticSamples(seed=seeds, neighbour=neighbours, weight=weights, labels=labels)

    def _pick_seeds(self, Y: np.ndarray, rng: np.random.Generator) -> list[tuple[int, int]]:
        """``(minority label, seed position)`` pairs, the labels taking turns, within the budget."""
        budget = self._max_added(len(Y))
        ratios = irlbl_from_counts(positive_counts(Y))
        finite = np.isfinite(ratios)
        if not finite.any():
            return []
        minority = np.flatnonzero(finite & (ratios > ratios[finite].mean()))
        queues = {int(label): rng.permutation(np.flatnonzero(Y[:, label] == 1)) for label in minority}
        queues = {label: queue for label, queue in queues.items() if len(queue) >= 2}
        picks: list[tuple[int, int]] = []
        for turn in range(max((len(queue) for queue in queues.values()), default=0)):
            for label, queue in queues.items():
                if len(picks) == budget:
                    return picks
                if turn < len(queue):
                    picks.append((label, int(queue[turn])))
        return picks


def _check_fingerprints(features: np.ndarray | None, n: int) -> sparse.csr_matrix:
    if features is None:
        raise DataError("MLSMOTE needs the fingerprints of the training set (features=[n, bits] of 0/1)")
    features = np.asarray(features)
    if features.ndim != 2 or len(features) != n:
        raise DataError(f"fingerprints must be a [n={n}, bits] array, got shape {features.shape}")
    if not ((features == 0) | (features == 1)).all():
        raise DataError("fingerprints must be bit vectors (0/1) for the Tanimoto distance")
    return sparse.csr_matrix(features, dtype=np.float32)  # a few % of bits are on: sparse products are ~50x faster


def _nearest_in_bags(fingerprints: sparse.csr_matrix, Y: np.ndarray, picks: list[tuple[int, int]], k: int) -> list[np.ndarray]:
    """For each ``(label, seed)`` pick, the positions of the ``k`` samples with the label nearest to
    the seed by Tanimoto distance, the seed excluded (ties: lower position).

    One matrix product per label, between its seeds and its samples; a scikit-learn
    ``NearestNeighbors`` index per minority label would be built for a few queries each and gives
    no control over ties.
    """
    nearest: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(picks)
    bits = np.asarray(fingerprints.sum(axis=1)).ravel()
    for label in sorted({label for label, _ in picks}):
        rows = [row for row, (picked, _) in enumerate(picks) if picked == label]
        seeds = np.asarray([picks[row][1] for row in rows])
        bag = np.flatnonzero(Y[:, label] == 1)
        shared = (fingerprints[seeds] @ fingerprints[bag].T).toarray()
        either = bits[seeds][:, None] + bits[bag][None, :] - shared
        similarity = np.divide(shared, either, out=np.ones_like(shared), where=either > 0)  # two empty vectors are identical
        similarity[seeds[:, None] == bag[None, :]] = -np.inf
        order = np.argsort(-similarity, axis=1, kind="stable")[:, : min(k, len(bag) - 1)]  # the seed sorts last
        for row, ranked in zip(rows, order):
            nearest[row] = bag[ranked]
    return nearest


def _vote(group: np.ndarray, rule: str) -> np.ndarray:
    """Labels voted by ``group`` (the seed and its neighbours, ``[k+1, L]``) over the members that observed each label."""
    observed = (~np.isnan(group)).sum(axis=0)
    positive = (group == 1).sum(axis=0)
    if rule == "ranking":
        on = 2 * positive > observed
    elif rule == "union":
        on = positive > 0
    else:
        on = positive == observed
    return np.where(observed > 0, on.astype(float), np.nan)
