"""Predictions of a trained run on new inputs, one row per input with its status."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch_geometric.loader import DataLoader

from molgnn.train.checkpoint import Run
from molgnn.train.evaluate import predict_batches


def prediction_columns(run: Run) -> list[str]:
    """Column names: the target, with its unit in brackets when it has one."""
    units = run.info.get("units", {})
    return [f"{t} [{units[t]}]" if units.get(t) else t for t in run.targets]


def predict_inputs(run: Run, inputs: list, ids: list[str] | None = None, batch_size: int = 64,
                   device: str | torch.device = "cpu") -> pd.DataFrame:
    """Featurize ``inputs`` with the run's own featurizer and predict.

    Returns one row per input, in order: ``id``, ``status`` (``ok`` or the reason the input was
    rejected) and one column per target (probabilities for classification, values in the
    targets' units for regression; NaN for rejected inputs). Rows in = rows out.
    """
    ids = [str(i) for i in (ids if ids is not None else range(len(inputs)))]
    positions = [str(k) for k in range(len(inputs))]  # keys rows even when the caller's ids repeat
    graphs, rejects = run.featurizer.featurize_many(inputs, positions)
    values = np.full((len(ids), len(run.targets)), np.nan)
    status = ["ok"] * len(ids)
    for error in rejects:
        status[int(error.input_id)] = error.reason
    if len(graphs):
        compact = [graphs.get(i) for i in range(len(graphs))]
        batches = (run.featurizer.expand(batch) for batch in DataLoader(compact, batch_size=batch_size))
        _, predicted, _ = predict_batches(run.model, batches, run.task, run.scaler, device)
        values[[int(k) for k in graphs.ids]] = predicted
    frame = pd.DataFrame(values, columns=prediction_columns(run))
    frame.insert(0, "status", status)
    frame.insert(0, "id", ids)
    return frame
