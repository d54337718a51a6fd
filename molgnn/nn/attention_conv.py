"""Multi-head attention over each atom's neighbours, using the edge features."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GATv2Conv

from molgnn.errors import ConfigError
from molgnn.nn.norm import node_norm


class NeighborAttentionConv(nn.Module):
    r"""GATv2 attention with edge features (Brody, Alon & Yahav, ICLR 2022), residual and batch norm.

    .. math::
        \alpha_{ij} = \mathrm{softmax}_j\big(\mathbf{a}^\top \mathrm{LeakyReLU}(\mathbf{W}
        [\mathbf{v}_i \,\|\, \mathbf{v}_j \,\|\, \mathbf{u}_{ij}])\big), \qquad
        \mathbf{v}_i' = g\Big(\mathbf{v}_i + \mathrm{BN}\big(\big\Vert_{h=1}^{H} \textstyle\sum_j
        \alpha^h_{ij} \mathbf{W}^h \mathbf{v}_j\big)\Big)

    Args:
        channels: node feature size (input = output); must be divisible by ``heads``.
        edge_dim: edge feature size.
        heads: attention heads, concatenated.
        dropout: dropout on the attention coefficients.
        norm: normalization of the attention output, ``molgnn.nn.norm.NORMS``.

    Shapes:
        x ``[N, channels]``, edge_index ``[2, E]``, edge_attr ``[E, edge_dim]`` -> ``[N, channels]``.
    """

    def __init__(self, channels: int, edge_dim: int, heads: int = 4, dropout: float = 0.0, norm: str = "batch"):
        super().__init__()
        if channels % heads:
            raise ConfigError(f"channels ({channels}) must be divisible by heads ({heads})")
        self.channels, self.edge_dim, self.heads = channels, edge_dim, heads
        self.attention = GATv2Conv(channels, channels // heads, heads=heads, edge_dim=edge_dim,
                                   add_self_loops=False, dropout=dropout)
        self.norm = node_norm(norm, channels)

    def reset_parameters(self) -> None:
        self.attention.reset_parameters()
        if hasattr(self.norm, "reset_parameters"):
            self.norm.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        return F.softplus(x + self.norm(self.attention(x, edge_index, edge_attr)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, edge_dim={self.edge_dim}, heads={self.heads})"
