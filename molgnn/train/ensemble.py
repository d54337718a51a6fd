"""Ensembles: k members trained alike into one folder that ``predict`` and ``screen`` read as mean and spread.

An ensemble folder holds one ordinary run folder per member (``member0``, ``member1``, ...) and,
once every member has finished, ``ensemble.json`` (the mode, the member folders, the training
config) and ``metrics.json``. Wherever run folders are accepted for prediction (``molgnn predict``,
``molgnn screen``, ``molgnn.screen.predict``), an ensemble folder stands for its members: the
output holds per target the mean over the members and their standard deviation.

Two ways to make the members differ (``mode``):

- ``"seeds"``: every member on the same split (``config.split`` seeded by ``config.seed``), member
  ``i`` initialized and shuffled with seed ``config.seed + i``. ``metrics.json`` holds each
  member's test metrics, their mean and std, and the metrics of the ensemble's mean prediction
  on the common test split: what averaging buys.
- ``"folds"``: k-fold cross-validation (records shuffled with ``config.seed``): member ``i`` is
  tested on fold ``i`` and trained on the others, of which ``config.split_fractions[1]`` (drawn
  with the member's seed) validates for early stopping. Every record is predicted once by the
  member that never saw it; ``metrics.json`` holds these out-of-fold metrics next to the members'.

Training is resumable: a finished member is not trained again, an interrupted one continues from
its last epoch (``molgnn.train.trainer.train``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import KFold

from molgnn.atomic import atomic_write_text
from molgnn.data.dataset import GraphDataset
from molgnn.data.splits import Split
from molgnn.errors import ConfigError
from molgnn.train.checkpoint import ENSEMBLE_FILE, ensemble_members, expand_ensembles, load_run  # noqa: F401 (re-exported)
from molgnn.train.config import TrainConfig
from molgnn.train.evaluate import predict_batches
from molgnn.train.loader import expanded_batches
from molgnn.train.metrics import task_metrics
from molgnn.train.trainer import Callback, config_split, train

MODES = ("seeds", "folds")
FORMAT = 1


def member_dir(out_dir: str | Path, member: int) -> Path:
    """The run folder of member ``member`` (from 0) of the ensemble in ``out_dir``."""
    return Path(out_dir) / f"member{member}"


def member_splits(dataset: GraphDataset, config: TrainConfig, k: int, mode: str = "seeds") -> list[Split]:
    """The split of each of the ``k`` members (positions in ``dataset``); see the module docstring."""
    if mode not in MODES:
        raise ConfigError(f"ensemble mode must be one of {MODES}, got {mode!r}")
    if k < 2:
        raise ConfigError(f"an ensemble needs at least 2 members, got {k}")
    if mode == "seeds":
        return [config_split(dataset, config)] * k
    if len(dataset) < 2 * k:
        raise ConfigError(f"{k}-fold cross-validation needs at least {2 * k} records, dataset has {len(dataset)}")
    splits = []
    folds = KFold(n_splits=k, shuffle=True, random_state=config.seed).split(np.arange(len(dataset)))
    val_fraction = config.split_fractions[1]
    for member, (rest, test) in enumerate(folds):
        rest = np.random.default_rng(config.seed + member).permutation(rest)
        n_val = max(1, int(round(val_fraction * len(rest))))
        fractions = (1 - 1 / k) * (1 - val_fraction), (1 - 1 / k) * val_fraction, 1 / k
        splits.append(Split(np.sort(rest[n_val:]), np.sort(rest[:n_val]), np.sort(test), f"fold{member}of{k}",
                            config.seed, tuple(f / sum(fractions) for f in fractions)))
    return splits


def train_ensemble(dataset: GraphDataset, out_dir: str | Path, config: TrainConfig, k: int, mode: str = "seeds",
                   resume: bool = True, progress: bool = True, device: str | torch.device | None = None,
                   callbacks: Sequence[Callback] = ()) -> dict:
    """Train ``k`` members of ``config`` on ``dataset`` into the ensemble folder ``out_dir``; returns its metrics.

    Args:
        dataset: the featurized data set.
        out_dir: the ensemble folder (members in ``member<i>/``).
        config: the members' training config; member ``i`` trains with seed ``config.seed + i``.
        k: number of members.
        mode: ``"seeds"`` (one split, k seeds) or ``"folds"`` (k-fold cross-validation).
        resume, progress, device, callbacks: passed to every member's ``train``.

    Returns the content of ``metrics.json``: ``members`` (each member's final metrics), ``member_mean``
    and ``member_std`` of their test scores, and ``ensemble`` (seeds: the mean prediction on the
    common test split) or ``out_of_fold`` (folds: every record predicted by the member that did not
    train on it).
    """
    out_dir = Path(out_dir)
    splits = member_splits(dataset, config, k, mode)
    members = []
    for member, split in enumerate(splits):
        member_config = dataclasses.replace(config, seed=config.seed + member)
        members.append(train(dataset, member_dir(out_dir, member), member_config, split=split, resume=resume,
                             progress=progress, device=device, callbacks=callbacks))
    metrics = {"mode": mode, "k": k, "members": members, **_member_spread(members),
               ("ensemble" if mode == "seeds" else "out_of_fold"): _pooled_metrics(dataset, out_dir, splits, mode, config,
                                                                                   device or "cpu")}
    metrics = json.loads(json.dumps(metrics, default=float))
    atomic_write_text(out_dir / "metrics.json", json.dumps(metrics, indent=1))
    atomic_write_text(out_dir / ENSEMBLE_FILE, json.dumps(
        {"format": FORMAT, "mode": mode, "k": k, "members": [member_dir(".", m).name for m in range(k)],
         "train_config": config.to_dict(), "dataset": dataset.meta["name"]}, indent=1))
    return metrics


def _member_spread(members: list[dict]) -> dict:
    scores = [{k: v for k, v in member["test"].items() if isinstance(v, (int, float)) and k != "n"} for member in members]
    names = [name for name in scores[0] if all(score.get(name) is not None for score in scores)]
    return {"member_mean": {name: float(np.mean([s[name] for s in scores])) for name in names},
            "member_std": {name: float(np.std([s[name] for s in scores])) for name in names}}


def _pooled_metrics(dataset: GraphDataset, out_dir: Path, splits: list[Split], mode: str, config: TrainConfig,
                    device) -> dict:
    """Metrics of the mean of the members' predictions on the common test split (seeds), or out of fold (folds)."""
    predictions, truths = [], []
    for member, split in enumerate(splits):
        run = load_run(member_dir(out_dir, member), device)
        test = dataset[torch.as_tensor(split.test)]
        y_true, y_pred, _ = predict_batches(run.model, expanded_batches(test, config.batch_size), run.task, run.scaler,
                                            device)
        predictions.append(y_pred)
        truths.append(y_true)
    if mode == "seeds":
        y_true, y_pred = truths[0], np.mean(predictions, axis=0)
    else:
        y_true, y_pred = np.concatenate(truths), np.concatenate(predictions)
    return {"n": int(len(y_true)), **task_metrics(dataset.task, y_true, y_pred, dataset.targets)}
