"""Layers, one per file, each a ``torch.nn.Module`` documented with its paper, formula and shapes."""

from molgnn.nn.attention_conv import NeighborAttentionConv
from molgnn.nn.cgcnn_conv import CGCNNConv
from molgnn.nn.charge_embedding import ChargeEmbedding
from molgnn.nn.descriptor_encoder import DescriptorEncoder
from molgnn.nn.descriptor_scaler import DescriptorScaler
from molgnn.nn.edge_update import EdgeUpdate
from molgnn.nn.gate_conv import AtomwiseGATEConv

__all__ = ["AtomwiseGATEConv", "CGCNNConv",
           "ChargeEmbedding", "DescriptorEncoder", "DescriptorScaler", "EdgeUpdate", "NeighborAttentionConv"]
