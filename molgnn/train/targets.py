"""Task-dependent pieces: target scaling, the masked loss, and turning outputs into predictions."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from molgnn.tasks import is_classification


class TargetScaler:
    """Standardizes regression targets per column (NaN-aware); identity for classification."""

    def __init__(self, mean: list[float], std: list[float]):
        self.mean = torch.tensor(mean, dtype=torch.float32)
        self.std = torch.tensor(std, dtype=torch.float32)

    @classmethod
    def fit(cls, y: torch.Tensor, task: str) -> TargetScaler:
        if is_classification(task):
            return cls([0.0] * y.shape[1], [1.0] * y.shape[1])
        values = y.double().numpy()
        mean = np.nanmean(values, axis=0)
        std = np.nanstd(values, axis=0)
        std[~(std > 1e-12)] = 1.0
        return cls(np.nan_to_num(mean).tolist(), std.tolist())

    def scale(self, y: torch.Tensor) -> torch.Tensor:
        return (y - self.mean.to(y.device)) / self.std.to(y.device)

    def unscale(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.std.to(y.device) + self.mean.to(y.device)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, values: dict) -> TargetScaler:
        return cls(values["mean"], values["std"])


def positive_weights(y: torch.Tensor) -> torch.Tensor:
    """Per-label ``negatives / positives`` over observed labels (1 where a label has no positive)."""
    observed = ~torch.isnan(y)
    positives = torch.nansum(y, dim=0)
    negatives = observed.sum(dim=0) - positives
    return torch.where(positives > 0, negatives / positives.clamp(min=1), torch.ones_like(positives))


def masked_loss(task: str, output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean loss over observed entries only; missing labels contribute exactly nothing.

    Classification: binary cross-entropy on logits (with optional per-label positive weights).
    Regression: mean squared error on standardized targets.
    """
    target = torch.where(mask, target, torch.zeros_like(target))  # NaN never enters the graph
    if is_classification(task):
        losses = F.binary_cross_entropy_with_logits(output, target, pos_weight=pos_weight, reduction="none")
    else:
        losses = (output - target) ** 2
    weights = mask.to(losses.dtype)
    return (losses * weights).sum() / weights.sum().clamp(min=1.0)


def to_predictions(task: str, output: torch.Tensor, scaler: TargetScaler) -> torch.Tensor:
    """Model outputs -> probabilities (classification) or values in the targets' units (regression)."""
    return torch.sigmoid(output) if is_classification(task) else scaler.unscale(output)
