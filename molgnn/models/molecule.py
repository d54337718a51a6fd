"""Molecule networks: AttentiveFP, a GINE baseline, and a hybrid graph + fingerprint model."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import AttentiveFP, GINEConv, global_add_pool

from molgnn.models.crystal import _batch_vector


class AttentiveFPModel(nn.Module):
    """AttentiveFP (Xiong et al., J. Med. Chem. 63, 8749 (2020)), torch_geometric's implementation.

    Shapes: a ``Batch`` with ``x``, ``edge_index``, ``edge_attr``, ``batch`` -> ``[B, out_dim]``.
    """

    def __init__(self, node_dim: int, edge_dim: int, out_dim: int, hidden: int = 200, layers: int = 2,
                 timesteps: int = 2, dropout: float = 0.0):
        super().__init__()
        self.net = AttentiveFP(node_dim, hidden, out_dim, edge_dim, layers, timesteps, dropout)

    def forward(self, data) -> torch.Tensor:
        return self.net(data.x, data.edge_index, data.edge_attr, _batch_vector(data))


class GINEModel(nn.Module):
    """GIN with edge features (Hu et al., ICLR 2020): ``layers`` GINEConv blocks, sum pooling, MLP head.

    Shapes: a ``Batch`` with ``x``, ``edge_index``, ``edge_attr``, ``batch`` -> ``[B, out_dim]``.
    """

    def __init__(self, node_dim: int, edge_dim: int, out_dim: int, hidden: int = 128, layers: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Linear(node_dim, hidden)
        self.convs = nn.ModuleList([
            GINEConv(nn.Sequential(nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                                   nn.Linear(hidden, hidden)), edge_dim=edge_dim)
            for _ in range(layers)
        ])
        self.norms = nn.ModuleList([nn.BatchNorm1d(hidden) for _ in range(layers)])
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim))

    def forward(self, data) -> torch.Tensor:
        x = self.embed(data.x)
        for conv, norm in zip(self.convs, self.norms):
            x = x + torch.relu(norm(conv(x, data.edge_index, data.edge_attr)))
        return self.head(global_add_pool(x, _batch_vector(data)))


class HybridModel(nn.Module):
    """AttentiveFP graph embedding joined with an MLP over the Morgan fingerprint (``data.fp``).

    ``head([AttentiveFP(graph) || MLP(fp)])``: the fingerprint carries substructure counts that
    message passing over a few hops sees only indirectly.

    Shapes: a ``Batch`` with ``x``, ``edge_index``, ``edge_attr``, ``batch``, ``fp [B, fp_dim]`` -> ``[B, out_dim]``.
    """

    def __init__(self, node_dim: int, edge_dim: int, out_dim: int, fp_dim: int, hidden: int = 200, layers: int = 2,
                 timesteps: int = 2, fp_hidden: int = 256, dropout: float = 0.0):
        super().__init__()
        self.graph = AttentiveFP(node_dim, hidden, hidden, edge_dim, layers, timesteps, dropout)
        self.fingerprint = nn.Sequential(nn.Linear(fp_dim, fp_hidden), nn.ReLU(), nn.Dropout(dropout),
                                         nn.Linear(fp_hidden, fp_hidden), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(hidden + fp_hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, out_dim))

    def forward(self, data) -> torch.Tensor:
        graph = self.graph(data.x, data.edge_index, data.edge_attr, _batch_vector(data))
        return self.head(torch.cat([graph, self.fingerprint(data.fp.float())], dim=-1))
