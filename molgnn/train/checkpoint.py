"""Self-describing run folders: weights plus the JSON needed to rebuild and use the model.

A run folder holds ``weights.pt`` (a state dict, loaded with ``torch.load(weights_only=True)``),
``forest.pt`` when the run is blended with a forest of decision trees (``molgnn.train.forest``; tensors only)
and ``run.json``: the model name and arguments, the featurizer config, the task, target names
and units, the target scaling, decision thresholds, the data split and the package version, and
the SHA-256 of the weights. ``SHA256SUMS`` (the format of ``sha256sum``, so ``sha256sum -c
SHA256SUMS`` checks a folder by hand) holds the SHA-256 of every file that decides the
predictions: ``run.json``, ``weights.pt``, ``forest.pt`` and a copied ``atom_init.json``. A truncated or edited
file (a shifted ``scaler.mean``, another ``cutoff``) is refused with ``CheckpointError``, and so is
a featurizer whose input sizes are not those the model was built with.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from molgnn import __version__
from molgnn.atomic import atomic_path, atomic_write_text
from molgnn.errors import MolgnnError
from molgnn.featurize.registry import featurizer_from_config
from molgnn.models.forest_blend import ForestBlend
from molgnn.models.registry import DATA_ARGUMENTS, build_model, model_spec
from molgnn.nn.tree_ensemble import TreeEnsemble
from molgnn.tasks import is_classification
from molgnn.train.targets import TargetScaler

FORMAT = 1
WEIGHTS, INFO, CHECKSUMS, ATOM_INIT, FOREST = "weights.pt", "run.json", "SHA256SUMS", "atom_init.json", "forest.pt"


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

    @property
    def requires(self) -> frozenset[str]:
        """The optional graph parts the model reads (``run.json``'s ``model.requires``, else its spec's)."""
        model = self.info["model"]
        requires = frozenset(model["requires"] if "requires" in model else model_spec(model["name"]).requires)
        return requires | frozenset(self.info.get("forest", {}).get("parts", ()))

    @property
    def predict_featurizer(self):
        """The featurizer that prediction uses: the training featurizer without the parts the model does not read."""
        return self.featurizer.limited_to(self.requires)


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
    if featurizer.get("element_features", "cgcnn") != "cgcnn" and not (run_dir / ATOM_INIT).exists():
        shutil.copyfile(featurizer["element_features"], run_dir / ATOM_INIT)
    if featurizer.get("element_features", "cgcnn") != "cgcnn":
        featurizer["element_features"] = ATOM_INIT
    info["featurizer"] = featurizer
    atomic_write_text(run_dir / INFO, json.dumps(info, indent=1))
    atomic_write_text(run_dir / CHECKSUMS, "".join(f"{_sha256(run_dir / name)}  {name}\n" for name in _decisive_files(info)))


def _decisive_files(info: dict) -> list[str]:
    """The files of a run folder that decide its predictions."""
    return [INFO, WEIGHTS] + ([FOREST] if "forest" in info else []) + (
        [ATOM_INIT] if info["featurizer"].get("element_features") == ATOM_INIT else [])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_checksums(run_dir: Path, info: dict) -> None:
    """Check every file that decides the predictions against ``SHA256SUMS``; ``CheckpointError`` names the first that differs."""
    try:
        lines = (run_dir / CHECKSUMS).read_text().splitlines()
    except FileNotFoundError as error:
        raise CheckpointError(f"{run_dir} has no {CHECKSUMS}: not a complete run folder (or written before molgnn "
                              "checked every file)") from error
    listed = dict(reversed(line.split(maxsplit=1)) for line in lines if line.strip())
    for name in _decisive_files(info):
        if name not in listed:
            raise CheckpointError(f"{run_dir / CHECKSUMS} does not list {name}")
        if not (run_dir / name).exists():
            raise CheckpointError(f"{run_dir} has no {name}")
        if _sha256(run_dir / name) != listed[name]:
            raise CheckpointError(f"{run_dir / name} does not match its checksum in {CHECKSUMS} (truncated or modified)")
    if listed[WEIGHTS] != info["weights_sha256"]:
        raise CheckpointError(f"{run_dir / INFO} names other weights than {run_dir / WEIGHTS} (checksums differ)")


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
    verify_checksums(run_dir, info)
    try:
        state = torch.load(run_dir / WEIGHTS, map_location=device, weights_only=True)
        model = build_model(info["model"]["name"], **info["model"]["args"])
        model.load_state_dict(state)
        if "forest" in info:
            model = _blended(model, info, torch.load(run_dir / FOREST, map_location=device, weights_only=True))
    except (RuntimeError, KeyError, TypeError, ValueError, EOFError, AttributeError, pickle.UnpicklingError) as error:
        # weights-only loading refuses anything but tensors with an UnpicklingError
        raise CheckpointError(f"cannot rebuild the model of {run_dir}: {error}") from error
    model.to(device).eval()
    featurizer = featurizer_from_config(info["featurizer"], base_dir=run_dir)
    args, sizes = info["model"]["args"], featurizer.graph_dims()
    differ = [k for k in DATA_ARGUMENTS if k != "out_dim" and k in args and sizes.get(k) != args[k]]
    if differ:
        made, built = (", ".join(f"{k}={values.get(k)}" for k in differ) for values in (sizes, args))
        raise CheckpointError(f"the featurizer in {run_dir / INFO} makes inputs of {made}, but the model was built for {built}")
    return Run(model, featurizer, TargetScaler.from_dict(info["scaler"]), info, run_dir)


def _blended(model: nn.Module, info: dict, state: dict) -> ForestBlend:
    """``model`` averaged with the run's forest (``molgnn.train.forest``)."""
    forest = info["forest"]
    trees = TreeEnsemble(forest["nodes"], forest["tree_count"], forest["out_dim"], forest["depth"])
    trees.load_state_dict({k.removeprefix("trees."): v for k, v in state.items() if k.startswith("trees.")})
    return ForestBlend(model, trees, forest["parts"], state["fill"], forest["weight"], is_classification(info["task"]))


ENSEMBLE_FILE = "ensemble.json"  # in an ensemble folder (molgnn.train.ensemble): its member run folders


def ensemble_members(path: str | Path) -> list[Path] | None:
    """The member run folders of the ensemble folder ``path``, or None if ``path`` is not an ensemble folder.

    Raises ``CheckpointError`` for an ``ensemble.json`` that cannot be read or names missing members.
    """
    path = Path(path)
    file = path / ENSEMBLE_FILE
    if not file.exists():
        return None
    try:
        members = [path / name for name in json.loads(file.read_text())["members"]]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise CheckpointError(f"{file} is corrupt: {error}") from error
    missing = [str(member) for member in members if not member.is_dir()]
    if missing or not members:
        raise CheckpointError(f"ensemble {path} lists members that are not there: {missing or 'none listed'}")
    return members


def expand_ensembles(paths: Sequence) -> list:
    """``paths`` with every ensemble folder replaced by its members (anything else is kept as it is)."""
    expanded = []
    for path in paths:
        members = ensemble_members(path) if isinstance(path, (str, Path)) else None
        expanded.extend(members if members is not None else [path])
    return expanded
