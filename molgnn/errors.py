"""The root of every error molgnn raises on purpose, and the kinds shared by every layer.

Every error that molgnn raises on purpose derives from ``MolgnnError``: a caller (the ``molgnn``
command above all) can tell a bad input, setting or file, whose message names it and says why,
from a bug, which keeps its traceback. Each error also keeps a builtin base (``ValueError``,
``KeyError``, ``FileNotFoundError``, ``RuntimeError``), so ``except ValueError`` and the like
still catch what they caught before. Errors of one record, carrying its id and the reason, are
in ``molgnn.chem.errors`` (``InvalidInputError`` and its kinds).
"""

from __future__ import annotations


class MolgnnError(Exception):
    """Base of every error molgnn raises on purpose."""


class ConfigError(MolgnnError, ValueError):
    """A setting, option or argument that cannot be used: an unknown choice, a value out of range,
    or one that does not fit the data (a model for crystals on molecules); the message names it
    and says what is valid."""


class DataError(MolgnnError, ValueError):
    """Values that cannot be used as given: class labels other than 0, 1 or NaN, predictions that
    are NaN where a label exists, arrays of mismatched shapes, a split that does not match the
    dataset; the message names the array and the first offending column, row or id."""


class UnknownNameError(MolgnnError, KeyError):
    """A name that a registry does not hold (dataset, model, oversampler, featurizer); the message
    lists the registered names."""

    def __str__(self) -> str:  # KeyError's own str() would print the message in quotes
        return str(self.args[0])
