"""The normalization of node features inside a convolution, chosen by name."""

from __future__ import annotations

from torch import nn

from molgnn.errors import ConfigError

NORMS = ("batch", "layer", "none")


def node_norm(kind: str, channels: int) -> nn.Module:
    """``BatchNorm1d`` (the original CGCNN), ``LayerNorm`` (per node, so independent of the batch:
    stable with the small batches of a few hundred crystals) or no normalization."""
    if kind == "batch":
        return nn.BatchNorm1d(channels)
    if kind == "layer":
        return nn.LayerNorm(channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"norm must be one of {NORMS}, got {kind!r}")
