"""The oversampler interface: parameters stored in ``__init__``, work done in ``resample``."""

from __future__ import annotations

import inspect
import math
import numbers
from typing import ClassVar

import numpy as np

from molgnn.errors import ConfigError
from molgnn.imbalance.measures import check_labels


class Oversampler:
    """The interface: ``resample(Y_train, features=None)`` -> positions of ``Y_train`` to clone.

    ``requires`` names the graph parts (``molgnn.featurize.base.GRAPH_PARTS``) that ``features`` are
    read from: ``{"fingerprint"}`` for an oversampler that needs the training set's fingerprints.

    Args:
        budget: samples to add, as a fraction of the training set (``floor(budget * n)`` at most).
        seed: seed of the random choices; the same inputs and seed give the same result.
    """

    requires: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, budget: float = 0.25, seed: int = 0) -> None:
        self.budget = budget
        self.seed = seed

    def resample(self, Y_train: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """Positions into ``Y_train`` (``[n, L]``, 0/1/NaN) of the samples to add, repeats allowed."""
        raise NotImplementedError

    def get_params(self) -> dict:
        """The constructor's arguments, as stored (for ``repr``, configs and cache keys)."""
        return {name: getattr(self, name) for name in inspect.signature(type(self).__init__).parameters if name != "self"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    def _max_added(self, n: int) -> int:
        budget = self.budget
        if isinstance(budget, bool) or not (isinstance(budget, numbers.Real) and math.isfinite(budget) and budget >= 0):
            raise ConfigError(f"budget must be a non-negative fraction of the training set, got {self.budget!r}")
        return int(math.floor(budget * n + 1e-9))  # 0.29 * 100 is 28.999999999999996 in floating point


class NoOversampler(Oversampler):
    """Adds nothing: the baseline the others are compared with."""

    def resample(self, Y_train: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        check_labels(Y_train)
        self._max_added(len(Y_train))
        return np.empty(0, dtype=np.int64)
