"""Per-graph descriptors normalized with the training graphs' statistics."""

from __future__ import annotations

import math

import torch
from torch import nn

from molgnn.errors import ConfigError

METHODS = ("standard", "quantile")


class DescriptorScaler(nn.Module):
    r"""Normalize global descriptors (``data.descriptors``) column by column.

    ``method="standard"`` standardizes:

    .. math:: \hat d_k = \mathrm{clip}\big((d_k - \mu_k) / \sigma_k, -c, c\big)

    with :math:`\mu_k, \sigma_k` the mean and standard deviation of descriptor :math:`k` over the
    training graphs. ``method="quantile"`` maps each value through the empirical distribution
    function of its descriptor on the training graphs, then to a normal score,

    .. math:: \hat d_k = \sqrt 2\, \mathrm{erf}^{-1}\big(2 F_k(d_k) - 1\big), \quad
              F_k(d) = \tfrac12 \big(\#\{q_{kj} < d\} + \#\{q_{kj} \le d\}\big) / Q

    with :math:`q_{k1..Q}` the training quantiles (``quantiles`` of them) and :math:`F_k` clamped
    to [0.001, 0.999] (normal scores within ±3.09): the normalization of chemprop's
    ``rdkit_2d_normalized`` features, fitted on the training split instead of a fixed reference
    set. It suits heavy-tailed descriptors (counts, topological indices spanning orders of
    magnitude) that standardization squeezes next to zero; ties (a count that is mostly 0) get
    the mid-rank.

    The statistics are set once by ``fit`` (the trainer calls it on the training split before the
    first epoch) and saved with the weights as buffers, so a loaded model scales new inputs exactly
    as it scaled its training data. A descriptor that is constant on the training graphs maps to
    0 (quantile) or keeps :math:`\sigma = 1` (standard); a missing value (NaN) becomes 0, the
    training mean or median.

    Args:
        dim: number of descriptors.
        clip: bound of the normalized values.
        method: ``"standard"`` or ``"quantile"``.
        quantiles: number of training quantiles kept per descriptor (``quantile`` only).

    Shapes:
        ``[B, dim]`` -> ``[B, dim]``.
    """

    def __init__(self, dim: int, clip: float = 6.0, method: str = "standard", quantiles: int = 256):
        super().__init__()
        if method not in METHODS:
            raise ConfigError(f"method must be one of {METHODS}, got {method!r}")
        self.dim, self.clip, self.method = dim, clip, method
        if method == "standard":
            self.register_buffer("mean", torch.zeros(dim))
            self.register_buffer("std", torch.ones(dim))
        else:
            self.register_buffer("knots", torch.zeros(dim, quantiles))

    @torch.no_grad()
    def fit(self, values: torch.Tensor) -> DescriptorScaler:
        """Set the statistics from ``values`` ``[n, dim]`` (NaN entries ignored)."""
        if self.method == "quantile":
            values = values.to(self.knots.dtype)
            levels = torch.linspace(0, 1, self.knots.shape[1], dtype=values.dtype)
            knots = torch.nanquantile(torch.where(torch.isfinite(values), values, math.nan), levels, dim=0).T
            self.knots.copy_(torch.nan_to_num(knots, nan=0.0).to(self.knots.device))  # a column without values: all 0
            return self
        values = values.to(self.mean.dtype)
        finite = torch.isfinite(values)
        count = finite.sum(dim=0).clamp(min=1)
        mean = torch.where(finite, values, 0.0).sum(dim=0) / count
        std = (torch.where(finite, values - mean, 0.0) ** 2).sum(dim=0).div(count).sqrt()
        self.mean.copy_(mean.to(self.mean.device))
        self.std.copy_(torch.where(std > 1e-8 * (1 + mean.abs()), std, torch.ones_like(std)).to(self.std.device))
        return self

    def forward(self, descriptors: torch.Tensor) -> torch.Tensor:
        if self.method == "quantile":
            values = descriptors.to(self.knots.dtype).T.contiguous()  # [dim, B], as searchsorted pairs rows
            below = torch.searchsorted(self.knots, values, side="left")
            at_or_below = torch.searchsorted(self.knots, values, side="right")
            cdf = ((below + at_or_below).to(values.dtype) / (2 * self.knots.shape[1])).clamp(0.001, 0.999)
            scores = math.sqrt(2) * torch.erfinv(2 * cdf - 1)
            return torch.where(torch.isnan(values), 0.0, scores).T.clamp(-self.clip, self.clip)
        scaled = (descriptors - self.mean) / self.std
        return torch.nan_to_num(scaled, nan=0.0).clamp(-self.clip, self.clip)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dim}, method={self.method!r})"
