"""The pretrained models molgnn ships: ensemble folders under ``models/`` (installed as ``molgnn.model_files``).

Each shipped model is a folder ``models/<name>/`` holding an ensemble folder of ``molgnn train
--folds`` (``ensemble.json``, ``member0`` ...: ordinary run folders, checksummed and loaded with
``weights_only``), its ``model.toml`` (what the model predicts, its data and licence, intended use,
known limits and the command that trains it), ``card.json`` (the metrics of the shipped weights,
written by ``models/build.py``) and the model card ``README.md`` generated from them.

Wherever a run folder is accepted for prediction (``molgnn predict``, ``molgnn screen``,
``molgnn.screen.predict``, ``GNNEstimator.pretrained``), a shipped model's name stands for its
folder; an existing path always wins over a name.
"""

from __future__ import annotations

import importlib.util
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from molgnn.errors import DataError, UnknownNameError

MANIFEST, CARD_DATA = "model.toml", "card.json"


class UnknownPretrainedError(UnknownNameError):
    """A name that is neither an existing path nor a shipped model."""


@dataclass(frozen=True)
class Pretrained:
    name: str
    path: Path
    manifest: dict

    @property
    def card(self) -> dict:
        """``card.json``: task, targets with units, the shipped weights' metrics, size (empty before it is built)."""
        path = self.path / CARD_DATA
        return json.loads(path.read_text()) if path.exists() else {}

    def describe(self) -> dict:
        card = self.card
        return {"name": self.name, "summary": self.manifest.get("summary", ""), "task": card.get("task"),
                "targets": card.get("units", {}), "metrics": card.get("headline", {}), "members": card.get("members"),
                "size_bytes": card.get("size_bytes"), "path": str(self.path)}


def models_folder() -> Path:
    """Where the shipped models are: the installed ``molgnn.model_files``, else ``models/`` beside the package."""
    try:
        spec = importlib.util.find_spec("molgnn.model_files")
    except ModuleNotFoundError:
        spec = None
    if spec is not None and spec.submodule_search_locations:  # a namespace package: a folder, not a module file
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parents[2] / "models"  # a source checkout on sys.path, not installed


def list_pretrained() -> list[Pretrained]:
    """Every shipped model with a manifest, sorted by name."""
    folder = models_folder()
    found = sorted(p.parent for p in folder.glob(f"*/{MANIFEST}")) if folder.is_dir() else []
    return [Pretrained(p.name, p, tomllib.loads((p / MANIFEST).read_text())) for p in found]


def get_pretrained(name: str) -> Pretrained:
    """The shipped model ``name``; ``UnknownPretrainedError`` lists the names there are."""
    models = {model.name: model for model in list_pretrained()}
    if name not in models:
        raise UnknownPretrainedError(f"no pretrained model named {name!r} (and no such path); shipped models: "
                                     f"{', '.join(models) or 'none'} (molgnn models lists them)")
    return models[name]


def resolve(run: object) -> object:
    """``run`` unchanged when it is an existing path or not a path at all, else the folder of the shipped model it names."""
    if not isinstance(run, (str, Path)) or Path(run).exists():
        return run
    if isinstance(run, str) and "/" not in run and "\\" not in run:
        return get_pretrained(run).path
    return run  # a missing path: the loader says so


def member_test_metrics(member_dir: str | Path, data: str, options: dict | None = None,
                        data_dir: str | Path | None = None, workers: int = 0,
                        limit: int | None = None) -> tuple[dict, np.ndarray, np.ndarray]:
    """Test metrics of one run on its own test split, from the records of data set ``data`` (read with ``options``).

    The test records (named in the run's ``run.json``) are predicted as any user's input would be
    (``molgnn.screen.predict``), so a card's metrics are those of the shipped weights through the
    shipped prediction path. Classification metrics use the run's tuned thresholds; ``limit`` keeps
    the first test records only (a quick look). Returns the metrics, the true values and the
    predictions (``[n, T]``, in the order of the split's ids).
    """
    from molgnn.data.build import resolve_spec
    from molgnn.screen import predict
    from molgnn.screen.store import prediction_columns
    from molgnn.train.checkpoint import load_run
    from molgnn.train.metrics import task_metrics

    run = load_run(member_dir)
    records = resolve_spec(data, data_dir, options).read()
    position = {record_id: i for i, record_id in enumerate(records.ids)}
    test = [position[record_id] for record_id in run.info["split"]["test"][:limit]]
    frame = predict(run, [records.inputs[i] for i in test], [records.ids[i] for i in test], workers=workers)
    if not frame["status"].eq("ok").all():
        failed = frame[frame["status"] != "ok"]
        raise DataError(f"{len(failed)} test records of {member_dir} were rejected, e.g. {failed['id'].iloc[0]}: "
                         f"{failed['reason'].iloc[0]}")
    y_true = records.y[test][:, [records.targets.index(t) for t in run.targets]]
    y_pred = frame[prediction_columns(frame)].to_numpy(dtype=float)
    metrics = task_metrics(run.task, y_true, y_pred, run.targets, run.info.get("thresholds", 0.5))
    return {"n": len(test), **metrics}, y_true, y_pred
