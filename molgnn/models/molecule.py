"""Molecule networks: AttentiveFP, a GINE baseline, and a hybrid graph + fingerprint (+ descriptors) model."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import AttentiveFP, GINEConv, global_add_pool

from molgnn.models.crystal import _batch_vector
from molgnn.nn import AtomwiseGATEConv, DescriptorScaler

# Search spaces of ``molgnn tune`` (``molgnn.models.registry.SearchSpace``: argument -> ("choice", values),
# ("int", low, high), ("float", low, high) or ("log", low, high)), around the published settings of each model.
ATTENTIVEFP_SEARCH = {"hidden": ("choice", (64, 128, 200, 300)), "layers": ("int", 1, 4), "timesteps": ("int", 1, 3),
                      "dropout": ("float", 0.0, 0.5)}
GINE_SEARCH = {"hidden": ("choice", (64, 128, 256)), "layers": ("int", 2, 5), "dropout": ("float", 0.0, 0.5)}
HYBRID_SEARCH = {**ATTENTIVEFP_SEARCH, "fp_hidden": ("choice", (128, 256, 512))}
HYBRID_DESCRIPTORS_SEARCH = {**HYBRID_SEARCH, "descriptor_hidden": ("choice", (128, 256, 512)),
                             "descriptor_scaling": ("choice", ("quantile", "standard"))}


class AttentiveFPModel(nn.Module):
    """AttentiveFP (Xiong et al., J. Med. Chem. 63, 8749 (2020)), torch_geometric's implementation
    (its first layer computed atom-wise, ``attentive_fp``).

    Shapes: a ``Batch`` with ``x``, ``edge_index``, ``edge_attr``, ``batch`` -> ``[B, out_dim]``.
    """

    def __init__(self, node_dim: int, edge_dim: int, out_dim: int, hidden: int = 200, layers: int = 2,
                 timesteps: int = 2, dropout: float = 0.0):
        super().__init__()
        self.net = attentive_fp(node_dim, hidden, out_dim, edge_dim, layers, timesteps, dropout)

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
    """AttentiveFP graph embedding joined with an MLP over the Morgan fingerprint (``data.fp``) and,
    with ``descriptor_dim > 0``, an MLP over the normalized molecule descriptors (``data.descriptors``).

    ``head([AttentiveFP(graph) || MLP(fp) || MLP(scale(descriptors))])``: the fingerprint carries
    substructure counts that message passing over a few hops sees only indirectly, and whole-molecule
    descriptors (RDKit 2D: logP, surface areas, charges, ring counts, ...) carry properties that
    neither sees directly, as in chemprop's D-MPNN with ``rdkit_2d_normalized`` features (Yang et al.,
    J. Chem. Inf. Model. 59, 3370 (2019)). ``scale`` is a ``DescriptorScaler`` fitted on the
    training split (``descriptor_scaling``: ``quantile`` as chemprop's normalized features, or
    ``standard``).

    Shapes: a ``Batch`` with ``x``, ``edge_index``, ``edge_attr``, ``batch``, ``fp [B, fp_dim]`` and,
    with descriptors, ``descriptors [B, descriptor_dim]`` -> ``[B, out_dim]``.
    """

    def __init__(self, node_dim: int, edge_dim: int, out_dim: int, fp_dim: int, descriptor_dim: int = 0,
                 hidden: int = 200, layers: int = 2, timesteps: int = 2, fp_hidden: int = 256,
                 descriptor_hidden: int = 256, descriptor_scaling: str = "quantile", dropout: float = 0.0):
        super().__init__()
        self.graph = attentive_fp(node_dim, hidden, hidden, edge_dim, layers, timesteps, dropout)
        self.fingerprint = _mlp(fp_dim, fp_hidden, dropout)
        self.scaler = DescriptorScaler(descriptor_dim, method=descriptor_scaling) if descriptor_dim else None
        self.descriptors = _mlp(descriptor_dim, descriptor_hidden, dropout) if descriptor_dim else None
        joined = hidden + fp_hidden + (descriptor_hidden if descriptor_dim else 0)
        self.head = nn.Sequential(nn.Linear(joined, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim))

    def forward(self, data) -> torch.Tensor:
        parts = [self.graph(data.x, data.edge_index, data.edge_attr, _batch_vector(data)), self.fingerprint(data.fp.float())]
        if self.descriptors is not None:
            parts.append(self.descriptors(self.scaler(data.descriptors)))
        return self.head(torch.cat(parts, dim=-1))


def attentive_fp(node_dim: int, hidden: int, out_dim: int, edge_dim: int, layers: int, timesteps: int,
                 dropout: float) -> AttentiveFP:
    """torch_geometric's ``AttentiveFP`` with its first layer an ``AtomwiseGATEConv``: the same parameters
    (names and initial values) and outputs, half the multiply-adds in that layer."""
    net = AttentiveFP(node_dim, hidden, out_dim, edge_dim, layers, timesteps, dropout)
    with torch.random.fork_rng(devices=[]):  # the initial values stay those AttentiveFP drew
        atomwise = AtomwiseGATEConv(hidden, hidden, edge_dim, dropout)
    atomwise.load_state_dict(net.gate_conv.state_dict())
    net.gate_conv = atomwise
    return net


def _mlp(in_dim: int, hidden: int, dropout: float) -> nn.Sequential:
    """Two ReLU layers of width ``hidden``, dropout between them: the encoder of a per-molecule vector."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU())
