"""Partial charges as learned node features."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn.models.schnet import GaussianSmearing


class ChargeEmbedding(nn.Module):
    r"""Embed per-atom partial charges: Gaussian expansion, then a linear map.

    .. math:: \mathbf{c}_i = \mathbf{W}_c\, \big[\exp(-\gamma (q_i - \mu_k)^2)\big]_{k=1..K} + \mathbf{b}_c

    A raw charge appended to ~100 one-hot features barely moves a first linear layer; the
    expansion lets the model learn a non-linear response to charge (as for distances in CGCNN).

    Args:
        channels: output size.
        start, stop: range of the Gaussian centres, e (charges outside still embed, more weakly).
        bins: number of Gaussians.

    Shapes:
        charge ``[N]`` -> ``[N, channels]``.
    """

    def __init__(self, channels: int, start: float = -3.0, stop: float = 3.0, bins: int = 30):
        super().__init__()
        self.channels = channels
        self.expand = GaussianSmearing(start, stop, bins)
        self.linear = nn.Linear(bins, channels)

    def reset_parameters(self) -> None:
        self.linear.reset_parameters()

    def forward(self, charge: torch.Tensor) -> torch.Tensor:
        expanded = self.expand(charge)  # tails below 1e-8 to exactly 0: subnormal floats are slow on CPUs
        return self.linear(expanded.masked_fill_(expanded < 1e-8, 0.0))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels})"
