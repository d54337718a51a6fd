"""Surrogates: models trained on the oracle's results that predict every candidate of the pool once per member.

- ``forest``: a scikit-learn random forest on the pool's global descriptors (``trees``, default 200;
  ``min_samples_leaf``, default 1); its members are the trees.
- ``ensemble``: ``members`` (default 3) molgnn models of ``model`` trained alike with the training
  config ``config`` (``molgnn.train.config.TrainConfig`` fields); member ``i`` trains on the results
  less a validation share (``val_fraction``, default 0.15, at least 2 records) drawn with its seed,
  which early stopping and the best weights follow. Each member is an ordinary run folder.

``train_surrogate`` writes version ``v`` of a campaign's surrogate into its own folder;
``surrogate_members`` predicts the pool with it as a ``(members, candidates)`` array.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from molgnn.campaign.pool import Pool, labelled_dataset
from molgnn.errors import ConfigError

FOREST_OPTIONS = {"kind", "trees", "min_samples_leaf"}
ENSEMBLE_OPTIONS = {"kind", "model", "members", "config", "val_fraction"}
SPEC = "surrogate.json"


def check_surrogate(spec: dict) -> None:
    """``ConfigError`` for options the surrogate kind does not take, or an ensemble config that does not hold."""
    allowed = FOREST_OPTIONS if spec.get("kind") == "forest" else ENSEMBLE_OPTIONS
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigError(f"surrogate {spec.get('kind')!r}: unknown option(s) {unknown}; valid: {sorted(allowed)}")
    if spec.get("kind") == "ensemble":
        if "model" not in spec:
            raise ConfigError("surrogate 'ensemble' needs a model name")
        if int(spec.get("members", 3)) < 2:
            raise ConfigError(f"surrogate 'ensemble' needs at least 2 members, got {spec.get('members')}")
        _train_config(spec, 0)


def train_surrogate(spec: dict, pool: Pool, labelled: dict[str, float], folder: str | Path, seed: int) -> Path:
    """Train the surrogate ``spec`` on ``labelled`` (candidate id -> oracle value) into ``folder``; returns it.

    A folder that already holds this surrogate (same spec, results and seed; a resumed campaign) is kept."""
    folder = Path(folder)
    record = {"spec": spec, "seed": seed, "labelled": labelled}
    if (folder / SPEC).exists() and json.loads((folder / SPEC).read_text()) == record:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    position = {record_id: k for k, record_id in enumerate(pool.ids)}
    positions = [position[c] for c in labelled]
    values = np.asarray(list(labelled.values()), dtype=float)
    if spec["kind"] == "forest":
        from sklearn.ensemble import RandomForestRegressor

        forest = RandomForestRegressor(n_estimators=int(spec.get("trees", 200)), min_samples_leaf=int(spec.get("min_samples_leaf", 1)),
                                       random_state=seed, n_jobs=1)
        forest.fit(pool.features()[positions], values)
        (folder / "forest.pkl").write_bytes(pickle.dumps(forest))
    else:
        _train_members(spec, pool, positions, values, folder, seed)
    (folder / SPEC).write_text(json.dumps(record))
    return folder


def import_surrogate(spec: dict) -> None:
    """Import the libraries that training the surrogate ``spec`` needs (scikit-learn, or torch and the trainer)."""
    if spec["kind"] == "forest":
        import sklearn.ensemble  # noqa: F401
    else:
        import molgnn.train.trainer  # noqa: F401


def surrogate_members(folder: str | Path, pool: Pool) -> np.ndarray:
    """The pool predicted by each member of the surrogate in ``folder``: ``(members, candidates)``."""
    folder = Path(folder)
    spec = json.loads((folder / SPEC).read_text())["spec"]
    if spec["kind"] == "forest":
        forest = pickle.loads((folder / "forest.pkl").read_bytes())  # written by train_surrogate of this campaign
        features = pool.features()
        return np.stack([tree.predict(features) for tree in forest.estimators_])
    return _member_predictions([folder / f"member{m}" for m in range(int(spec.get("members", 3)))], pool)


def _train_config(spec: dict, seed: int):
    from molgnn.train.config import TrainConfig

    values = {"model": spec["model"], "seed": seed, **dict(spec.get("config", {}))}
    values.setdefault("patience", values.get("epochs", 30))
    return TrainConfig.from_dict(values)


def _train_members(spec: dict, pool: Pool, positions: list[int], values: np.ndarray, folder: Path, seed: int) -> None:
    from molgnn.data.splits import Split
    from molgnn.train.trainer import train

    dataset = labelled_dataset(pool, positions, values.tolist())
    n = len(dataset)
    n_val = max(2, int(round(float(spec.get("val_fraction", 0.15)) * n)))
    if n - n_val < 2:
        raise ConfigError(f"surrogate 'ensemble' needs at least {n_val + 2} results to train, has {n}")
    for member in range(int(spec.get("members", 3))):
        order = np.random.default_rng(seed + member).permutation(n)
        split = Split(np.sort(order[n_val:]), np.sort(order[:n_val]), np.array([], dtype=np.int64), "campaign", seed + member,
                      ((n - n_val) / n, n_val / n, 0.0))
        train(dataset, folder / f"member{member}", _train_config(spec, seed + member), split=split, resume=False,
              progress=False)


def _member_predictions(run_dirs: list[Path], pool: Pool) -> np.ndarray:
    """Every member on every batch of the pool, each batch expanded once for all members."""
    import torch

    from molgnn.train.checkpoint import load_run
    from molgnn.train.loader import expanded_batches
    from molgnn.train.targets import to_predictions

    runs = [load_run(run_dir) for run_dir in run_dirs]
    outputs = [[] for _ in runs]
    with torch.inference_mode():
        for run in runs:
            run.model.eval()
        for batch in expanded_batches(pool.dataset, 128):
            for run, out in zip(runs, outputs):
                out.append(to_predictions(run.task, run.model(batch), run.scaler)[:, 0])
    return np.stack([torch.cat(out).numpy().astype(float) for out in outputs])
