"""Edge update: edge features recomputed from their two end atoms at every layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class EdgeUpdate(nn.Module):
    r"""Residual update of every edge from its end atoms (edge convolution).

    .. math::
        \mathbf{u}_{ij}' = \mathbf{u}_{ij} + g\big(\mathrm{BN}(\mathbf{W}_e [\mathbf{v}_i \,\|\,
        \mathbf{v}_j \,\|\, \mathbf{u}_{ij}] + \mathbf{b}_e)\big)

    with :math:`g` = softplus, so edge features are learned per layer instead of staying the
    fixed Gaussian expansion of the distance (the edge block of MEGNet, Chen et al.,
    Chem. Mater. 31, 3564 (2019)). Followed by any node convolution that reads edge features.

    Args:
        channels: node feature size.
        edge_dim: edge feature size (input = output).

    Shapes:
        x ``[N, channels]``, edge_index ``[2, E]``, edge_attr ``[E, edge_dim]`` -> ``[E, edge_dim]``.
    """

    def __init__(self, channels: int, edge_dim: int):
        super().__init__()
        self.channels, self.edge_dim = channels, edge_dim
        self.linear = nn.Linear(2 * channels + edge_dim, edge_dim)
        self.norm = nn.BatchNorm1d(edge_dim)

    def reset_parameters(self) -> None:
        self.linear.reset_parameters()
        self.norm.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        source, target = edge_index
        update = self.linear(torch.cat([x[target], x[source], edge_attr], dim=-1))
        return edge_attr + F.softplus(self.norm(update))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, edge_dim={self.edge_dim})"
