"""A trained network averaged with a forest of decision trees on the same graphs' global features."""

from __future__ import annotations

import torch
from torch import nn

from molgnn.featurize.base import GRAPH_PARTS
from molgnn.nn.tree_ensemble import TreeEnsemble

FOREST_PARTS = ("fingerprint", "descriptors")  # the per-graph vectors a forest reads (of GRAPH_PARTS), in this order


def forest_inputs(values: dict) -> torch.Tensor:
    """The forest's input rows from ``{part: [B, k] tensor}``: the fingerprint bits, then the global
    descriptors (those of ``FOREST_PARTS`` given), as float64."""
    return torch.cat([values[part].double() for part in FOREST_PARTS if part in values], dim=1)


class ForestBlend(nn.Module):
    """``weight * network + (1 - weight) * forest``, in the network's output space.

    Classification: the probabilities are averaged and returned as logits (so ``sigmoid`` of the
    output is the blended probability). Regression: the forest predicts the standardized targets
    the network is trained on, and the two are averaged there. Descriptors that are NaN (a value
    RDKit could not compute) reach the forest as the training median ``fill``.

    Args:
        network: the trained graph network (any registered model).
        trees: the fitted forest, one output column per target.
        parts: which of ``FOREST_PARTS`` the forest reads.
        fill: ``[F]`` the value that replaces a NaN input.
        weight: the network's share, in [0, 1].
        classification: whether outputs are logits.

    Shapes: a ``Batch`` as ``network`` reads it, plus the ``parts`` -> ``[B, out_dim]``.
    """

    def __init__(self, network: nn.Module, trees: TreeEnsemble, parts: list[str], fill: torch.Tensor, weight: float,
                 classification: bool):
        super().__init__()
        self.network, self.trees, self.parts_read = network, trees, list(parts)
        self.weight, self.classification = float(weight), classification
        self.register_buffer("fill", fill.double())

    def forward(self, batch) -> torch.Tensor:
        output = self.network(batch)
        x = forest_inputs({part: getattr(batch, GRAPH_PARTS[part]) for part in self.parts_read})
        forest = self.trees(torch.where(torch.isnan(x), self.fill, x)).to(output.dtype)
        if not self.classification:
            return self.weight * output + (1 - self.weight) * forest
        probability = self.weight * torch.sigmoid(output) + (1 - self.weight) * forest
        return torch.logit(probability, eps=1e-6)

    def members(self) -> dict[str, nn.Module]:
        """The blend's two members as models of the same output space: ``network alone`` and ``forest alone``."""
        forest = ForestBlend(self.network, self.trees, self.parts_read, self.fill, 0.0, self.classification)
        return {"network alone": self.network, "forest alone": forest}
