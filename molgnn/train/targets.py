"""Task-dependent pieces: target scaling, the masked loss, and turning outputs into predictions."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from molgnn.errors import DataError
from molgnn.tasks import is_classification


class TargetScaler:
    """Standardizes regression targets per column (NaN-aware); identity for classification.

    With ``transform="log1p"`` it standardizes ``log(1 + y)`` and maps back with ``exp(z) - 1``
    clipped at 0 (targets that cannot be negative). ``target_std`` is the standard deviation of the
    training targets in their own units, the scale of the ``mae`` monitor.
    """

    def __init__(self, mean: list[float], std: list[float], transform: str = "none", target_std: list[float] | None = None):
        self.mean = torch.tensor(mean, dtype=torch.float32)
        self.std = torch.tensor(std, dtype=torch.float32)
        self.transform = transform
        self.target_std = torch.tensor(std if target_std is None else target_std, dtype=torch.float32)

    @classmethod
    def fit(cls, y: torch.Tensor, task: str, transform: str = "none") -> TargetScaler:
        if is_classification(task):
            return cls([0.0] * y.shape[1], [1.0] * y.shape[1])
        values = y.double().numpy()
        if transform == "log1p":
            if np.nanmin(values) < 0:
                raise DataError(f"target_transform 'log1p' is for targets that cannot be negative, but the training "
                                f"targets go down to {np.nanmin(values):g}")
            transformed = np.log1p(values)
        else:
            transformed = values
        mean, std = np.nanmean(transformed, axis=0), np.nanstd(transformed, axis=0)
        std[~(std > 1e-12)] = 1.0
        target_std = np.nanstd(values, axis=0)
        target_std[~(target_std > 1e-12)] = 1.0
        return cls(np.nan_to_num(mean).tolist(), std.tolist(), transform, target_std.tolist())

    def scale(self, y: torch.Tensor) -> torch.Tensor:
        if self.transform == "log1p":
            y = torch.log1p(y.clamp(min=0))  # a missing label (NaN) stays NaN, and is masked
        return (y - self.mean.to(y.device)) / self.std.to(y.device)

    def unscale(self, y: torch.Tensor) -> torch.Tensor:
        y = y * self.std.to(y.device) + self.mean.to(y.device)
        return torch.expm1(y).clamp(min=0) if self.transform == "log1p" else y

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "transform": self.transform,
                "target_std": self.target_std.tolist()}

    @classmethod
    def from_dict(cls, values: dict) -> TargetScaler:
        return cls(values["mean"], values["std"], values.get("transform", "none"), values.get("target_std"))


def positive_weights(y: torch.Tensor) -> torch.Tensor:
    """Per-label ``negatives / positives`` over observed labels (1 where a label has no positive)."""
    observed = ~torch.isnan(y)
    positives = torch.nansum(y, dim=0)
    negatives = observed.sum(dim=0) - positives
    return torch.where(positives > 0, negatives / positives.clamp(min=1), torch.ones_like(positives))


def masked_loss(task: str, output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                pos_weight: torch.Tensor | None = None, loss: str = "auto") -> torch.Tensor:
    """Mean loss over observed entries only; missing labels contribute exactly nothing.

    Classification: binary cross-entropy on logits (with optional per-label positive weights).
    Regression, on standardized targets: squared error (``auto``, ``mse``), absolute error
    (``l1``) or smooth L1 with unit threshold (``huber``).
    """
    target = torch.where(mask, target, torch.zeros_like(target))  # NaN never enters the graph
    if is_classification(task):
        losses = F.binary_cross_entropy_with_logits(output, target, pos_weight=pos_weight, reduction="none")
    elif loss == "l1":
        losses = (output - target).abs()
    elif loss == "huber":
        losses = F.smooth_l1_loss(output, target, reduction="none")
    else:
        losses = (output - target) ** 2
    weights = mask.to(losses.dtype)
    return (losses * weights).sum() / weights.sum().clamp(min=1.0)


def to_predictions(task: str, output: torch.Tensor, scaler: TargetScaler) -> torch.Tensor:
    """Model outputs -> probabilities (classification) or values in the targets' units (regression)."""
    return torch.sigmoid(output) if is_classification(task) else scaler.unscale(output)
