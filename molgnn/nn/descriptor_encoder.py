"""An MLP over per-graph descriptors, for hybrid models and the descriptors-only baseline."""

from __future__ import annotations

import torch
from torch import nn

from molgnn.nn.descriptor_scaler import DescriptorScaler


class DescriptorEncoder(nn.Module):
    r"""Normalize the descriptors, then two layers of ``Linear -> LayerNorm -> SiLU -> Dropout``.

    .. math:: \mathbf{h} = f_2(f_1(\mathrm{scale}(\mathbf{d}))), \qquad
              f_k(\mathbf{u}) = \mathrm{Dropout}(\mathrm{SiLU}(\mathrm{LN}(\mathbf{W}_k\mathbf{u} + \mathbf{b}_k)))

    ``scale`` is a ``DescriptorScaler`` fitted to the training split. LayerNorm rather than
    BatchNorm so that the output does not depend on the batch (small batches, one-graph inference).

    Args:
        dim: number of descriptors (``featurizer.descriptor_names``).
        hidden: output (and hidden) size.
        dropout: dropout after each layer.
        scaling: the ``DescriptorScaler`` method, ``"standard"`` or ``"quantile"``.

    Shapes:
        ``[B, dim]`` -> ``[B, hidden]``.
    """

    def __init__(self, dim: int, hidden: int = 256, dropout: float = 0.1, scaling: str = "standard"):
        super().__init__()
        self.dim, self.hidden = dim, hidden
        self.scale = DescriptorScaler(dim, method=scaling)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.LayerNorm(hidden), nn.SiLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.SiLU(), nn.Dropout(dropout))

    def forward(self, descriptors: torch.Tensor) -> torch.Tensor:
        return self.net(self.scale(descriptors))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dim}, hidden={self.hidden})"
