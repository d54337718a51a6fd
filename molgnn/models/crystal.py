"""Crystal graph networks: CGCNN, edge convolution, attention, charge-aware and hybrid variants; a descriptors-only MLP."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import global_mean_pool

from molgnn.errors import ConfigError
from molgnn.nn import CGCNNConv, ChargeEmbedding, DescriptorEncoder, EdgeUpdate, NeighborAttentionConv

# The search space of ``molgnn tune`` for the crystal variants (see ``molgnn.models.registry.SearchSpace``).
CRYSTAL_SEARCH = {"hidden": ("choice", (32, 64, 128)), "layers": ("int", 2, 5), "head_hidden": ("choice", (64, 128, 256)),
                  "dropout": ("float", 0.0, 0.4)}
DESCRIPTOR_MLP_SEARCH = {"hidden": ("choice", (64, 128, 256, 512)), "dropout": ("float", 0.0, 0.4)}


class CrystalGNN(nn.Module):
    """Embedding -> ``layers`` convolutions -> mean pooling -> MLP head.

    The ideas combine freely: ``edge_update`` learns edge features per layer, ``attention``
    replaces CGCNN's gated sum by multi-head attention over neighbours, ``charge`` adds embedded
    partial charges (``data.charge``) to the atom embedding, ``descriptors`` (a hybrid model) joins
    the pooled graph embedding with a ``DescriptorEncoder`` of the structure's global descriptors
    (``data.descriptors``: pore geometry, host-guest energies) before the head, so that the graph
    has to learn only what the descriptors miss. All off is the original CGCNN architecture.

    Args:
        node_dim, edge_dim: input feature sizes (featurizer's ``num_atom_features`` / ``num_edge_features``).
        out_dim: number of outputs (targets or labels).
        hidden: atom embedding size.
        layers: convolution layers.
        edge_update, attention, charge, descriptors: the variants above.
        descriptor_dim: number of global descriptors (the featurizer's; used with ``descriptors``).
        heads: attention heads.
        head_hidden: hidden size of the output MLP.
        descriptor_hidden: output size of the descriptor encoder.
        descriptor_scaling: how the encoder normalizes the descriptors, ``"standard"`` or ``"quantile"``
            (``molgnn.nn.DescriptorScaler``; quantile keeps one extreme structure from squeezing a column).
        dropout: dropout in the head and the descriptor encoder.
        norm: normalization inside the convolutions, ``"batch"`` (the original), ``"layer"`` or ``"none"``.

    Shapes:
        a ``Batch`` with ``x [N, node_dim]``, ``edge_index [2, E]``, ``edge_attr [E, edge_dim]``,
        ``batch [N]`` (and ``charge [N]``, ``descriptors [B, descriptor_dim]``) -> ``[B, out_dim]``.
    """

    def __init__(self, node_dim: int, edge_dim: int, out_dim: int, hidden: int = 64, layers: int = 3,
                 edge_update: bool = False, attention: bool = False, charge: bool = False, descriptors: bool = False,
                 descriptor_dim: int = 0, heads: int = 4, head_hidden: int = 128, descriptor_hidden: int = 128,
                 descriptor_scaling: str = "standard", dropout: float = 0.0, norm: str = "batch"):
        super().__init__()
        if descriptors and descriptor_dim < 1:
            raise ConfigError("a hybrid model needs descriptor_dim >= 1 (a featurizer with descriptors)")
        self.embed = nn.Linear(node_dim, hidden)
        self.charge_embed = ChargeEmbedding(hidden) if charge else None
        self.edge_updates = nn.ModuleList([EdgeUpdate(hidden, edge_dim) for _ in range(layers)]) if edge_update else None
        self.convs = nn.ModuleList([
            NeighborAttentionConv(hidden, edge_dim, heads, norm=norm) if attention else CGCNNConv(hidden, edge_dim, norm)
            for _ in range(layers)
        ])
        self.descriptor_encoder = DescriptorEncoder(descriptor_dim, descriptor_hidden, dropout, descriptor_scaling) \
            if descriptors else None
        joined = hidden + (descriptor_hidden if descriptors else 0)
        self.head = nn.Sequential(nn.Linear(joined, head_hidden), nn.Softplus(), nn.Dropout(dropout),
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
        pooled = global_mean_pool(x, _batch_vector(data))
        if self.descriptor_encoder is not None:
            pooled = torch.cat([pooled, self.descriptor_encoder(data.descriptors)], dim=-1)
        return self.head(pooled)


class DescriptorMLP(nn.Module):
    """The descriptors-only baseline: a ``DescriptorEncoder`` of ``data.descriptors`` and a linear head.

    It reads no atoms or bonds, so next to a hybrid model on the same descriptors it measures what
    the graph adds.

    ``descriptor_scaling`` as in ``CrystalGNN``.

    Shapes: a ``Batch`` with ``descriptors [B, descriptor_dim]`` -> ``[B, out_dim]``.
    """

    def __init__(self, descriptor_dim: int, out_dim: int, hidden: int = 256, dropout: float = 0.1,
                 descriptor_scaling: str = "standard"):
        super().__init__()
        self.encoder = DescriptorEncoder(descriptor_dim, hidden, dropout, descriptor_scaling)
        self.head = nn.Linear(hidden, out_dim)

    def forward(self, data) -> torch.Tensor:
        return self.head(self.encoder(data.descriptors))


def _batch_vector(data) -> torch.Tensor:
    batch = getattr(data, "batch", None)
    return batch if batch is not None else torch.zeros(data.num_nodes, dtype=torch.long, device=data.x.device)
