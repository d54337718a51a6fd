"""CGCNN's gated graph convolution."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from molgnn.nn.norm import node_norm


class CGCNNConv(nn.Module):
    r"""Crystal graph convolution (Xie & Grossman, Phys. Rev. Lett. 120, 145301 (2018)).

    .. math::
        \mathbf{v}_i' = g\Big(\mathbf{v}_i + \mathrm{BN}\Big(\sum_{j} \sigma(\mathbf{z}_{ij}\mathbf{W}_f
        + \mathbf{b}_f) \odot g(\mathbf{z}_{ij}\mathbf{W}_s + \mathbf{b}_s)\Big)\Big),
        \qquad \mathbf{z}_{ij} = \mathbf{v}_i \,\|\, \mathbf{v}_j \,\|\, \mathbf{u}_{ij}

    with :math:`g` = softplus. The same function as torch_geometric's ``CGConv`` (batch norm on
    the sum) plus the original's outer softplus, computed differently: since
    :math:`\mathbf{z}_{ij}\mathbf{W} = \mathbf{v}_i\mathbf{W}_i + \mathbf{v}_j\mathbf{W}_j +
    \mathbf{u}_{ij}\mathbf{W}_u`, the atom terms are projected once per atom and gathered, and only
    :math:`\mathbf{u}_{ij}\mathbf{W}_u` is computed per edge. A MOF has ~12 edges per atom, so this
    cuts the layer's multiply-adds about threefold; ``CGConv`` multiplies the full
    :math:`\mathbf{z}_{ij}` for every edge. The gated sum over edges is one autograd function
    (``GatedEdgeSum``) that keeps nothing edge-sized for the backward pass.

    Args:
        channels: node feature size (input = output).
        edge_dim: edge feature size.
        norm: normalization of the summed messages, ``molgnn.nn.norm.NORMS`` (BN in the original).

    Shapes:
        x ``[N, channels]``, edge_index ``[2, E]``, edge_attr ``[E, edge_dim]`` -> ``[N, channels]``.
    """

    def __init__(self, channels: int, edge_dim: int, norm: str = "batch"):
        super().__init__()
        self.channels, self.edge_dim = channels, edge_dim
        self.lin_target = nn.Linear(channels, 2 * channels, bias=False)
        self.lin_source = nn.Linear(channels, 2 * channels, bias=False)
        self.lin_edge = nn.Linear(edge_dim, 2 * channels)  # carries the biases b_f, b_s
        self.norm = node_norm(norm, channels)

    def reset_parameters(self) -> None:
        for module in (self.lin_target, self.lin_source, self.lin_edge, self.norm):
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        summed = GatedEdgeSum.apply(self.lin_target(x), self.lin_source(x), edge_attr, self.lin_edge.weight,
                                    self.lin_edge.bias, edge_index)
        return F.softplus(x + self.norm(summed))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, edge_dim={self.edge_dim})"


class GatedEdgeSum(torch.autograd.Function):
    r"""Per target atom :math:`i`, :math:`\sum_j \sigma(\mathbf{g}_{ij}) \odot g(\mathbf{c}_{ij})` with
    :math:`[\mathbf{g}_{ij} \,|\, \mathbf{c}_{ij}] = \mathbf{t}_i + \mathbf{s}_j + \mathbf{u}_{ij}\mathbf{W}^\top
    + \mathbf{b}`, edges ``edge_index = (j, i)`` (source, target) as in torch_geometric.

    The edges go through in blocks of ``EDGE_BLOCK``, and nothing edge-sized is kept for the backward
    pass: it recomputes each block's :math:`[\mathbf{g} | \mathbf{c}]` from the atom terms and the edge
    features (which the batch holds anyway), using :math:`g' = \sigma` (softplus' derivative) and
    :math:`\sigma' = \sigma(1 - \sigma)`. Autograd on the plain expression keeps four ``[E, 2C]``
    tensors per layer, most of a crystal batch's training memory, and allocates a dozen more per
    step, which the C allocator either keeps (fragmented: the process grows) or maps afresh (page
    faults: a third slower). Blocks of a fixed size are reused from the heap and stay in cache.

    Shapes: target, source ``[N, 2C]``, edge_attr ``[E, D]``, weight ``[2C, D]``, bias ``[2C]``,
    edge_index ``[2, E]`` -> ``[N, C]``.
    """

    @staticmethod
    def forward(ctx, target: torch.Tensor, source: torch.Tensor, edge_attr: torch.Tensor, weight: torch.Tensor,
                bias: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        out = target.new_zeros(target.shape[0], target.shape[1] // 2)
        for sources, targets, features in _blocks(edge_index, edge_attr):
            gate, core = _pre_activation(target, source, features, weight, bias, sources, targets).chunk(2, dim=-1)
            message = torch.sigmoid(gate)
            message *= F.softplus(core)
            out.index_add_(0, targets, message)
        ctx.save_for_backward(target, source, edge_attr, weight, bias, edge_index)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        target, source, edge_attr, weight, bias, edge_index = ctx.saved_tensors
        need = ctx.needs_input_grad
        grad_target = torch.zeros_like(target) if need[0] else None
        grad_source = torch.zeros_like(source) if need[1] else None
        grad_edge = torch.empty_like(edge_attr) if need[2] else None
        grad_weight = torch.zeros_like(weight) if need[3] else None
        grad_bias = torch.zeros_like(bias) if need[4] else None
        start = 0
        for sources, targets, features in _blocks(edge_index, edge_attr):
            gate, core = _pre_activation(target, source, features, weight, bias, sources, targets).chunk(2, dim=-1)
            open_gate = torch.sigmoid(gate)
            grad_core = grad_out.index_select(0, targets)
            grad_core *= open_gate
            grad_gate = F.softplus(core)
            grad_gate *= grad_core
            grad_gate *= 1 - open_gate
            grad_core *= torch.sigmoid(core)
            grad_z = torch.cat([grad_gate, grad_core], dim=-1)
            if grad_target is not None:
                grad_target.index_add_(0, targets, grad_z)
            if grad_source is not None:
                grad_source.index_add_(0, sources, grad_z)
            if grad_edge is not None:
                torch.mm(grad_z, weight, out=grad_edge[start:start + len(targets)])
            if grad_weight is not None:
                grad_weight.addmm_(grad_z.t(), features)
            if grad_bias is not None:
                grad_bias += grad_z.sum(0)
            start += len(targets)
        return grad_target, grad_source, grad_edge, grad_weight, grad_bias, None


EDGE_BLOCK = 4096  # edges per block: [4096, 2C] float32 is 2 MB at C = 64


def _blocks(edge_index: torch.Tensor, edge_attr: torch.Tensor):
    """``(sources, targets, edge_attr)`` of consecutive blocks of ``EDGE_BLOCK`` edges."""
    for start in range(0, edge_index.shape[1], EDGE_BLOCK):
        stop = start + EDGE_BLOCK
        yield edge_index[0, start:stop], edge_index[1, start:stop], edge_attr[start:stop]


def _pre_activation(target, source, edge_attr, weight, bias, sources, targets) -> torch.Tensor:
    z = torch.addmm(bias, edge_attr, weight.t())
    z += target.index_select(0, targets)
    z += source.index_select(0, sources)
    return z
