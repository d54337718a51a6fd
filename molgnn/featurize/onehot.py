"""Vectorized one-hot encoding of integer fact tables, with an "unknown" slot per category.

Encoding a small molecule must cost microseconds, so the categories of all columns are compiled
once into one flat lookup table: a whole table is then encoded with a clip, one fancy index and
one scatter, instead of per-atom dictionary lookups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneHot:
    """A categorical column: one slot per listed value plus a final ``other`` slot."""

    column: str
    values: tuple[int, ...]
    labels: tuple[str, ...]

    def names(self) -> list[str]:
        return [f"{self.column}={label}" for label in self.labels] + [f"{self.column}=other"]


@dataclass(frozen=True)
class Flag:
    """A 0/1 column copied as one feature."""

    column: str

    def names(self) -> list[str]:
        return [self.column]


class TableEncoder:
    """Encodes an integer table whose columns are named by ``columns`` into 0/1 features."""

    def __init__(self, columns: tuple[str, ...], blocks: tuple[OneHot | Flag, ...]):
        self.names = [name for block in blocks for name in block.names()]
        onehots = [(i, b) for i, b in enumerate(blocks) if isinstance(b, OneHot)]
        starts = np.cumsum([0] + [len(b.names()) for b in blocks])
        self._flag_sources = np.array([columns.index(b.column) for b in blocks if isinstance(b, Flag)], dtype=np.int64)
        self._flag_targets = np.array([starts[i] for i, b in enumerate(blocks) if isinstance(b, Flag)], dtype=np.int64)
        self._sources = np.array([columns.index(b.column) for _, b in onehots], dtype=np.int64)
        lows, spans, lut_offsets, luts = [], [], [], []
        for i, block in onehots:
            # The table spans one value beyond each end, so out-of-range values clip onto ``other``.
            low, high = min(block.values) - 1, max(block.values) + 1
            other = starts[i] + len(block.values)
            lut = np.full(high - low + 1, other)
            lut[np.array(block.values) - low] = starts[i] + np.arange(len(block.values))
            lows.append(low)
            spans.append(high - low)
            lut_offsets.append(sum(len(t) for t in luts))
            luts.append(lut)
        self._lows = np.array(lows, dtype=np.int64)
        self._spans = np.array(spans, dtype=np.int64)
        self._lut_offsets = np.array(lut_offsets, dtype=np.int64)
        self._lut = np.concatenate(luts) if luts else np.zeros(0, dtype=np.int64)

    @property
    def width(self) -> int:
        return len(self.names)

    def __call__(self, table: np.ndarray) -> np.ndarray:
        """``[n, len(columns)]`` integers -> ``[n, width]`` 0/1 features as uint8 (compact to cache)."""
        n = table.shape[0]
        out = np.zeros((n, self.width), dtype=np.uint8)
        raw = table[:, self._sources] - self._lows
        np.clip(raw, 0, self._spans, out=raw)
        hot = self._lut[raw + self._lut_offsets]
        out[np.arange(n)[:, None], hot] = 1
        out[:, self._flag_targets] = table[:, self._flag_sources]
        return out
