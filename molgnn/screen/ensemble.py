"""One or several trained runs used together: shared featurization, mean and spread of predictions.

Runs are grouped by featurizer config, so that a library is featurized once per distinct config
(the usual ensemble, e.g. the cross-validation folds of one recipe, has a single group). With one
run the output has one column per target; with several, the mean over the runs that predict the
target and its standard deviation across them (population std, ``ddof=0``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from molgnn.errors import MolgnnError
from molgnn.tasks import is_classification
from molgnn.train.checkpoint import Run, expand_ensembles, load_run
from molgnn.train.domain import INSIDE, Domain, read_domain
from molgnn.train.pretrained import resolve
from molgnn.train.targets import to_predictions


class EnsembleError(MolgnnError, ValueError):
    """Runs that cannot be screened together, or a featurizer the library cannot satisfy."""


@dataclass
class Group:
    """The runs that share one featurizer config."""

    featurizer: object
    runs: list[int] = field(default_factory=list)
    domain: Domain | None = None  # the union of the runs' training domains, when every run recorded one


@dataclass
class Ensemble:
    runs: list[Run]
    groups: list[Group]
    kind: str
    targets: list[str]
    units: dict[str, str]

    @property
    def size(self) -> int:
        return len(self.runs)

    def column(self, target: str, std: bool = False) -> str:
        unit = self.units.get(target)
        name = f"{target} std" if std else target
        return f"{name} [{unit}]" if unit else name

    def columns(self) -> list[str]:
        names = [self.column(t) for t in self.targets]
        if self.size > 1:
            names += [self.column(t, std=True) for t in self.targets]
        return names

    @property
    def featurizers(self) -> list:
        return [group.featurizer for group in self.groups]

    @property
    def has_domain(self) -> bool:
        """Whether the runs recorded their training domain, so predictions get a ``domain`` flag column."""
        return any(group.domain is not None for group in self.groups)

    def flags(self, group_batches: list[list]) -> list[str]:
        """Per kept record, ``"inside"`` the runs' training domain, else why not (``molgnn.train.domain``)."""
        per_group = [[flag for batch in batches for flag in group.domain.flags(batch)]
                     for group, batches in zip(self.groups, group_batches) if group.domain is not None]
        return ["; ".join(dict.fromkeys(flag for flag in flags if flag != INSIDE)) or INSIDE for flags in zip(*per_group)]

    @torch.inference_mode()
    def predict(self, group_batches: list[list], n_kept: int, device) -> np.ndarray:
        """``[n_kept, len(columns())]``: per target the mean (and std) over runs, from each group's batches."""
        values = np.full((self.size, n_kept, len(self.targets)), np.nan)
        for group, batches in zip(self.groups, group_batches):
            start = 0
            for batch in batches:
                batch = group.featurizer.expand(batch).to(device)
                stop = start + batch.num_graphs
                for r in group.runs:
                    run = self.runs[r]
                    block = values[r, start:stop]
                    block[:, [self.targets.index(t) for t in run.targets]] = (
                        to_predictions(run.task, run.model(batch), run.scaler).double().cpu().numpy())
                start = stop
        if self.size == 1:
            return values[0]
        if not np.isnan(values).any():
            return np.concatenate([values.mean(axis=0), values.std(axis=0)], axis=1)
        with warnings.catch_warnings():  # a target that no run predicts stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        return np.concatenate([mean, std], axis=1)

    def describe(self) -> list[dict]:
        return [{"path": str(run.path.resolve()), "model": run.info["model"]["name"], "task": run.task,
                 "weights_sha256": run.info["weights_sha256"]} for run in self.runs]


def load_ensemble(run_dirs: list[str | Path | Run], device="cpu", charges: str | None = None,
                  max_atoms: int | None = None) -> Ensemble:
    """Load ``run_dirs`` (run folders, ensemble folders of ``molgnn.train.ensemble`` standing for their
    members, names of shipped models (``molgnn.train.pretrained``), or runs loaded already); ``charges``
    / ``max_atoms`` override the crystal featurizers' settings. Each run featurizes without the parts
    its model does not read (``Run.predict_featurizer``): a CGCNN trained on CIFs with charges predicts
    CIFs without them.

    ``charges`` replaces ``"cif"`` (charges read from the CIF files) by a computed scheme such as
    ``"eqeq"`` for libraries whose CIFs carry no charges; featurizers without charges keep none.
    """
    if not run_dirs:
        raise EnsembleError("screening needs at least one run folder")
    runs = [path if isinstance(path, Run) else load_run(path, device)
            for path in expand_ensembles([resolve(path) for path in run_dirs])]
    groups: dict[str, Group] = {}
    for r, run in enumerate(runs):
        featurizer = _adjusted(run.predict_featurizer, charges, max_atoms)
        config = featurizer.config()
        key = json.dumps({k: v for k, v in config.items() if k != "element_features" or "element_features_sha256" not in config},
                         sort_keys=True)
        groups.setdefault(key, Group(featurizer)).runs.append(r)
    for group in groups.values():
        domains = [read_domain(runs[r].path) for r in group.runs]
        if all(domain is not None for domain in domains):
            group.domain = functools.reduce(Domain.union, domains)
    kinds = {run.featurizer.kind for run in runs}
    if len(kinds) != 1:
        raise EnsembleError(f"runs mix molecule and crystal models: {[str(run.path) for run in runs]}")
    targets, units, tasks = [], {}, {}
    for run in runs:
        for target in run.targets:
            unit = run.info.get("units", {}).get(target, "")
            classification = is_classification(run.task)
            if target in units and (units[target] != unit or tasks[target] != classification):
                raise EnsembleError(f"target {target!r} is predicted as {_what(tasks[target], units[target])} by one run "
                                    f"and as {_what(classification, unit)} by {run.path}")
            if target not in units:
                targets.append(target)
                units[target], tasks[target] = unit, classification
    return Ensemble(runs, list(groups.values()), kinds.pop(), targets, units)


def _what(classification: bool, unit: str) -> str:
    return "a probability" if classification else f"a value in {unit or 'no unit'}"


def _adjusted(featurizer, charges: str | None, max_atoms: int | None):
    """``featurizer`` with the screen's overrides of the settings it has (crystal featurizers)."""
    overrides = {}
    if charges is not None and getattr(featurizer, "charges", None) == "cif":
        overrides["charges"] = charges
    if max_atoms is not None and hasattr(featurizer, "max_atoms"):
        overrides["max_atoms"] = int(max_atoms)
    return dataclasses.replace(featurizer, **overrides) if overrides else featurizer
