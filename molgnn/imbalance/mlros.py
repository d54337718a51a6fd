"""ML-ROS, the random multilabel oversampler of Charte et al. 2015."""

from __future__ import annotations

import numpy as np

from molgnn.imbalance.base import Oversampler
from molgnn.imbalance.measures import check_labels, irlbl_from_counts, positive_counts


class MLROS(Oversampler):
    """ML-ROS: random clones from the bags of minority labels (Charte, Rivera, del Jesus & Herrera,
    "Addressing imbalance in multilabel classification: Measures and random resampling
    algorithms", Neurocomputing 163 (2015) 3-16, Algorithm 2).

    A label is a minority label when its IRLbl exceeds the MeanIR of the training set; its bag
    is the samples in which it is positive. The bags take turns (round-robin), each turn cloning
    a random sample of the bag; after each clone IRLbl is recomputed and the labels whose IRLbl
    no longer exceeds MeanIR leave the rotation. MeanIR stays the value measured before cloning,
    as in the paper. Cloning stops when the budget is used or no minority label is left.
    """

    def resample(self, Y_train: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        Y = check_labels(Y_train)
        remaining = self._max_added(len(Y))
        positive = Y == 1
        counts = positive_counts(Y).astype(float)
        ratios = irlbl_from_counts(counts)
        finite = np.isfinite(ratios)
        if not finite.any():
            return np.empty(0, dtype=np.int64)
        mean_ir = ratios[finite].mean()
        minority = [int(label) for label in np.flatnonzero(finite & (ratios > mean_ir))]
        bags = {label: np.flatnonzero(positive[:, label]) for label in minority}
        rng = np.random.default_rng(self.seed)
        added: list[int] = []
        while remaining > 0 and minority:
            for label in list(minority):
                if remaining == 0:
                    break
                if label not in minority:  # left the rotation earlier in this turn
                    continue
                sample = int(bags[label][rng.integers(len(bags[label]))])
                added.append(sample)
                counts += positive[sample]
                remaining -= 1
                ratios = irlbl_from_counts(counts)
                minority = [kept for kept in minority if ratios[kept] > mean_ir]
        return np.asarray(added, dtype=np.int64)
