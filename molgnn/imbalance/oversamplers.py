"""Multilabel oversamplers behind one interface, and their registry.

Each oversampler stores its parameters in ``__init__`` (scikit-learn style) and does its work in
``resample(Y_train, features=None)``, which says what to add to the training set: positions into
``Y_train`` of the samples to clone (``NoOversampler``, ``MLROS``, ``CoOccurrenceOversampler``), or
the recipes of synthetic samples (``MLSMOTE`` -> ``SyntheticSamples``). The training set itself is
never copied or changed, so the data layer decides how a clone or a synthetic sample becomes a
graph. ``budget`` is the number of samples to add as a fraction of the training set; none adds
more than ``floor(budget * n)``, and one may add fewer when adding more would not reduce the
imbalance. Results depend only on the inputs and ``seed``.

A missing label (NaN) is never a positive: it does not put a sample in a label's bag, and a clone
keeps its NaNs.

Example:
    >>> import numpy as np
    >>> Y = np.array([[1, 1], [1, 0], [1, 0], [1, 0], [0, 1]], dtype=float)
    >>> make_oversampler("ml-ros", budget=0.4, seed=0).resample(Y)
    array([4])
"""

from __future__ import annotations

from molgnn.errors import UnknownNameError
from molgnn.imbalance.base import NoOversampler, Oversampler
from molgnn.imbalance.cooccurrence import CoOccurrenceOversampler
from molgnn.imbalance.mlros import MLROS
from molgnn.imbalance.mlsmote import MLSMOTE, SyntheticSamples

OVERSAMPLERS: dict[str, type[Oversampler]] = {
    "none": NoOversampler,
    "ml-ros": MLROS,
    "mlsmote": MLSMOTE,
    "cooccurrence": CoOccurrenceOversampler,
}


class UnknownOversamplerError(UnknownNameError):
    """An oversampler name that is not registered; the message lists the registered names."""


def make_oversampler(name: str, **kwargs) -> Oversampler:
    """The registered oversampler ``name`` built with ``kwargs`` (``budget``, ``seed``, its own options)."""
    if name not in OVERSAMPLERS:
        raise UnknownOversamplerError(f"unknown oversampler {name!r}; registered: {', '.join(OVERSAMPLERS)}")
    return OVERSAMPLERS[name](**kwargs)


__all__ = ["MLROS", "MLSMOTE", "OVERSAMPLERS", "CoOccurrenceOversampler", "NoOversampler", "Oversampler",
           "SyntheticSamples", "UnknownOversamplerError", "make_oversampler"]
