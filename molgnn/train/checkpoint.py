"""Self-describing run folders: weights plus the JSON needed to rebuild and use the model.

A run folder holds ``weights.pt`` (a state dict, loaded with ``torch.load(weights_only=True)``)
and ``run.json``: the model name and arguments, the featurizer config, the task, target names
and units, the target scaling, decision thresholds, the data split and the package version, plus
the SHA-256 of the weights so that a tampered or truncated file is refused with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from molgnn import __version__
from molgnn.atomic import atomic_path, atomic_write_text
from molgnn.errors import MolgnnError
from molgnn.featurize.registry import featurizer_from_config
from molgnn.models.registry import build_model
from molgnn.train.targets import TargetScaler

FORMAT = 1
WEIGHTS, INFO = "weights.pt", "run.json"


class CheckpointError(MolgnnError, RuntimeError):
    """A run folder that cannot be loaded: missing, truncated, tampered or inconsistent files."""


@dataclass
class Run:
    """A loaded run: the model in eval mode, its featurizer, its target scaler and its ``run.json``."""

    model: nn.Module
    featurizer: object
    scaler: TargetScaler
    info: dict
    path: Path

    @property
    def task(self) -> str:
        return self.info["task"]

    @property
    def targets(self) -> list[str]:
        return list(self.info["targets"])


def save_weights(run_dir: Path, model: nn.Module) -> str:
    """Write ``weights.pt`` atomically; returns its SHA-256."""
    run_dir.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    with atomic_path(run_dir / WEIGHTS) as temporary:
        torch.save(state, temporary)
    return hashlib.sha256((run_dir / WEIGHTS).read_bytes()).hexdigest()


def save_info(run_dir: Path, info: dict) -> None:
    """Write ``run.json`` atomically, adding the format and package version.

    An ``atom_init.json`` used by the featurizer is copied into the run folder, so that the run
    needs nothing outside itself.
    """
    info = {"format": FORMAT, "molgnn_version": __version__, **info}
    featurizer = dict(info["featurizer"])
    if featurizer.get("element_features", "cgcnn") != "cgcnn" and not (run_dir / "atom_init.json").exists():
        shutil.copyfile(featurizer["element_features"], run_dir / "atom_init.json")
    if featurizer.get("element_features", "cgcnn") != "cgcnn":
        featurizer["element_features"] = "atom_init.json"
    info["featurizer"] = featurizer
    atomic_write_text(run_dir / INFO, json.dumps(info, indent=1))


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> Run:
    """Load a run folder; ``CheckpointError`` says what is wrong with a broken one."""
    run_dir = Path(run_dir)
    try:
        info = json.loads((run_dir / INFO).read_text())
    except FileNotFoundError as error:
        raise CheckpointError(f"{run_dir} is not a run folder: no {INFO}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{run_dir / INFO} is corrupt: {error}") from error
    for key in ("model", "featurizer", "task", "targets", "scaler", "weights_sha256"):
        if key not in info:
            raise CheckpointError(f"{run_dir / INFO} lacks {key!r}")
    if info.get("molgnn_version") != __version__:
        warnings.warn(f"{run_dir} was saved by molgnn {info.get('molgnn_version')}, this is {__version__}",
                      stacklevel=2)
    weights = run_dir / WEIGHTS
    if not weights.exists():
        raise CheckpointError(f"{run_dir} has no {WEIGHTS}")
    if hashlib.sha256(weights.read_bytes()).hexdigest() != info["weights_sha256"]:
        raise CheckpointError(f"{weights} does not match the checksum in {INFO} (truncated or modified)")
    try:
        state = torch.load(weights, map_location=device, weights_only=True)
        model = build_model(info["model"]["name"], **info["model"]["args"])
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError) as error:
        raise CheckpointError(f"cannot rebuild the model of {run_dir}: {error}") from error
    model.to(device).eval()
    featurizer = featurizer_from_config(info["featurizer"], base_dir=run_dir)
    return Run(model, featurizer, TargetScaler.from_dict(info["scaler"]), info, run_dir)
