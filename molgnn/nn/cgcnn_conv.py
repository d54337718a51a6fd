"""CGCNN's gated graph convolution."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import CGConv


class CGCNNConv(nn.Module):
    r"""Crystal graph convolution (Xie & Grossman, Phys. Rev. Lett. 120, 145301 (2018)).

    .. math::
        \mathbf{v}_i' = g\Big(\mathbf{v}_i + \mathrm{BN}\Big(\sum_{j} \sigma(\mathbf{z}_{ij}\mathbf{W}_f
        + \mathbf{b}_f) \odot g(\mathbf{z}_{ij}\mathbf{W}_s + \mathbf{b}_s)\Big)\Big),
        \qquad \mathbf{z}_{ij} = \mathbf{v}_i \,\|\, \mathbf{v}_j \,\|\, \mathbf{u}_{ij}

    with :math:`g` = softplus. The gated sum and batch norm are torch_geometric's ``CGConv``;
    this layer adds the outer softplus of the original code.

    Args:
        channels: node feature size (input = output).
        edge_dim: edge feature size.

    Shapes:
        x ``[N, channels]``, edge_index ``[2, E]``, edge_attr ``[E, edge_dim]`` -> ``[N, channels]``.
    """

    def __init__(self, channels: int, edge_dim: int):
        super().__init__()
        self.channels, self.edge_dim = channels, edge_dim
        self.conv = CGConv(channels, dim=edge_dim, aggr="add", batch_norm=True)

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        return F.softplus(self.conv(x, edge_index, edge_attr))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, edge_dim={self.edge_dim})"
