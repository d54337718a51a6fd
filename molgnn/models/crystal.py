"""Crystal graph networks: CGCNN, edge convolution, attention and charge-aware variants."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import global_mean_pool

from molgnn.nn import CGCNNConv, ChargeEmbedding, EdgeUpdate, NeighborAttentionConv

# The search space of ``molgnn tune`` for the crystal variants (see ``molgnn.models.registry.SearchSpace``).
CRYSTAL_SEARCH = {"hidden": ("choice", (32, 64, 128)), "layers": ("int", 2, 5), "head_hidden": ("choice", (64, 128, 256)),
                  "dropout": ("float", 0.0, 0.4)}

class CrystalGNN(nn.Module):
    """Embedding -> ``layers`` convolutions -> mean pooling -> MLP head.

    The three ideas combine freely: ``edge_update`` learns edge features per layer,
    ``attention`` replaces CGCNN's gated sum by multi-head attention over neighbours, ``charge``
    adds embedded partial charges (``data.charge``) to the atom embedding. All off is the
    original CGCNN architecture.

    Args:
        node_dim, edge_dim: input feature sizes (featurizer's ``num_atom_features`` / ``num_edge_features``).
        out_dim: number of outputs (targets or labels).
        hidden: atom embedding size.
        layers: convolution layers.
        edge_update, attention, charge: the variants above.
        heads: attention heads.
        head_hidden: hidden size of the output MLP.
        dropout: dropout in the head.

    Shapes:
        a ``Batch`` with ``x [N, node_dim]``, ``edge_index [2, E]``, ``edge_attr [E, edge_dim]``,
        ``batch [N]`` (and ``charge [N]``) -> ``[B, out_dim]``.
    """

    def __init__(self, node_dim: int, edge_dim: int, out_dim: int, hidden: int = 64, layers: int = 3,
                 edge_update: bool = False, attention: bool = False, charge: bool = False, heads: int = 4,
                 head_hidden: int = 128, dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Linear(node_dim, hidden)
        self.charge_embed = ChargeEmbedding(hidden) if charge else None
        self.edge_updates = nn.ModuleList([EdgeUpdate(hidden, edge_dim) for _ in range(layers)]) if edge_update else None
        self.convs = nn.ModuleList([
            NeighborAttentionConv(hidden, edge_dim, heads) if attention else CGCNNConv(hidden, edge_dim)
            for _ in range(layers)
        ])
        self.head = nn.Sequential(nn.Linear(hidden, head_hidden), nn.Softplus(), nn.Dropout(dropout),
                                  nn.Linear(head_hidden, out_dim))

    def forward(self, data) -> torch.Tensor:
        x = self.embed(data.x)
        if self.charge_embed is not None:
            x = x + self.charge_embed(data.charge)
        x = F.softplus(x)
        edge_attr = data.edge_attr
        for k, conv in enumerate(self.convs):
            if self.edge_updates is not None:
                edge_attr = self.edge_updates[k](x, data.edge_index, edge_attr)
            x = conv(x, data.edge_index, edge_attr)
        return self.head(global_mean_pool(x, _batch_vector(data)))


def _batch_vector(data) -> torch.Tensor:
    batch = getattr(data, "batch", None)
    return batch if batch is not None else torch.zeros(data.num_nodes, dtype=torch.long, device=data.x.device)
