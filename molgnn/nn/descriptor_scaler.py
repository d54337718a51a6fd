"""Per-graph descriptors standardized with the training graphs' statistics."""

from __future__ import annotations

import torch
from torch import nn


class DescriptorScaler(nn.Module):
    r"""Standardize global descriptors (``data.descriptors``) column by column.

    .. math:: \hat d_k = \mathrm{clip}\big((d_k - \mu_k) / \sigma_k, -c, c\big)

    with :math:`\mu_k, \sigma_k` the mean and standard deviation of descriptor :math:`k` over the
    training graphs, set once by ``fit`` (the trainer calls it on the training split before the
    first epoch) and saved with the weights as buffers, so a loaded model scales new inputs exactly
    as it scaled its training data. Descriptors spanning orders of magnitude (surface areas in
    m2/g next to void fractions) would otherwise swamp the first layer; the clip keeps an outlier
    from dominating a prediction. A descriptor that is constant on the training graphs keeps
    :math:`\sigma = 1`; a missing value (NaN) becomes 0, the training mean.

    Args:
        dim: number of descriptors.
        clip: bound of the standardized values.

    Shapes:
        ``[B, dim]`` -> ``[B, dim]``.
    """

    def __init__(self, dim: int, clip: float = 6.0):
        super().__init__()
        self.dim, self.clip = dim, clip
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @torch.no_grad()
    def fit(self, values: torch.Tensor) -> DescriptorScaler:
        """Set the statistics from ``values`` ``[n, dim]`` (NaN entries ignored)."""
        values = values.to(self.mean.dtype)
        finite = torch.isfinite(values)
        count = finite.sum(dim=0).clamp(min=1)
        mean = torch.where(finite, values, 0.0).sum(dim=0) / count
        std = (torch.where(finite, values - mean, 0.0) ** 2).sum(dim=0).div(count).sqrt()
        self.mean.copy_(mean.to(self.mean.device))
        self.std.copy_(torch.where(std > 1e-8 * (1 + mean.abs()), std, torch.ones_like(std)).to(self.std.device))
        return self

    def forward(self, descriptors: torch.Tensor) -> torch.Tensor:
        scaled = (descriptors - self.mean) / self.std
        return torch.nan_to_num(scaled, nan=0.0).clamp(-self.clip, self.clip)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dim})"
