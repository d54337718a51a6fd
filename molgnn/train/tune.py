"""Hyper-parameter search on Optuna: trials are ordinary runs, scored on validation, pruned, parallel, resumable.

``tune`` searches the model's ``search_space`` (declared with each model in ``molgnn.models``) and
``TRAINING_SPACE`` (learning rate, weight decay, batch size) around a base ``TrainConfig``:

- The study sees only the training and validation records of the base config's split (seeded by
  ``config.seed``): the test records are left out of the study's dataset, so no trial can be
  scored on them, and they stay unseen for the final comparison.
- Each trial is a normal run folder, ``<study>/trials/trial<N>``; the objective is its best
  validation value of the trainer's monitor (``config.monitor``; ROC-AUC for classification).
  With ``repeats`` R > 1 a trial trains on R splits of the study's records (the config's split,
  then the same method and fractions with seeds ``config.seed + 1`` ... ``+ R - 1``; run folders
  ``trial<N>/split<r>``) and the objective is the mean of their best validation values: on a small
  validation set (sider's 143 molecules) one split's value is noisy enough that a search mostly
  finds the luckiest trial, and averaging R splits divides that noise by about the square root of R.
  Trial 0 of a new study is the base config itself (``base_params``), so the study shows what the
  search gained over it.
- Trials are pruned by Optuna's median rule on the validation curve: a ``Callback`` reports the
  monitor after each epoch and sets ``training.stop`` when the trial should be pruned.
- ``jobs`` trials run at a time, each in its own process (the core budget shared among them, ``molgnn.cores``), sharing the
  study through Optuna's SQLite storage ``<study>/study.db``; calling ``tune`` again with the same
  folder resumes the study up to ``trials`` finished trials (a trial cut off by a crash is marked
  failed by Optuna's heartbeat check a minute later, and a new trial takes its place).
- The best trial's config is written as ``<study>/best_config.json``, a file that ``molgnn train
  --config`` (``TrainConfig.from_file``) accepts; ``<study>/trials.csv`` lists every trial.
"""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from molgnn.atomic import atomic_write_text
from molgnn.cores import core_budget
from molgnn.data.dataset import GraphDataset
from molgnn.data.splits import Split, make_split
from molgnn.errors import ConfigError
from molgnn.models.registry import model_spec
from molgnn.tasks import is_classification
from molgnn.train.config import TrainConfig
from molgnn.train.trainer import MAXIMIZED, Callback, config_split, monitor_for, train

STUDY_FILE, BEST_CONFIG = "study.db", "best_config.json"
# the training settings every study searches, as the models' search spaces (molgnn.models.registry.SearchSpace)
TRAINING_SPACE = {"lr": ("log", 1e-4, 3e-3), "weight_decay": ("choice", (0.0, 1e-5, 1e-4, 1e-3, 1e-2)),
                  "batch_size": ("choice", (32, 64, 128))}


@dataclass
class TuneResult:
    """A finished (or resumed and finished) study: its best trial and where everything is."""

    best_value: float
    best_trial: int
    best_config: TrainConfig
    best_config_path: Path
    monitor: str
    trials: dict  # counts per state: complete, pruned, fail
    study_dir: Path

    def to_dict(self) -> dict:
        return {"best_value": self.best_value, "best_trial": self.best_trial, "monitor": self.monitor,
                "best_config": self.best_config.to_dict(), "best_config_path": str(self.best_config_path),
                "best_run": str(trial_dir(self.study_dir, self.best_trial)), "trials": self.trials}


def trial_dir(study_dir: str | Path, number: int) -> Path:
    """The run folder of trial ``number`` (of a study with repeats: the folder of its ``split<r>`` run folders)."""
    return Path(study_dir) / "trials" / f"trial{number}"


def suggest(trial, space: dict) -> dict:
    """The values of ``space`` (a ``SearchSpace``) drawn for an Optuna ``trial``."""
    values = {}
    for name, (kind, *bounds) in space.items():
        if kind == "choice":
            values[name] = trial.suggest_categorical(name, list(bounds[0]))
        elif kind == "int":
            values[name] = trial.suggest_int(name, bounds[0], bounds[1])
        else:
            values[name] = trial.suggest_float(name, bounds[0], bounds[1], log=kind == "log")
    return values


def base_params(config: TrainConfig) -> dict:
    """The values ``config`` (or its model's defaults) gives the searched settings, where the search space holds them."""
    spec = model_spec(config.model)
    current = {**{name: getattr(config, name) for name in TRAINING_SPACE}, **spec.arguments(), **config.model_args}
    params = {}
    for name, (kind, *bounds) in {**TRAINING_SPACE, **spec.search_space}.items():
        value = current[name]
        if (value in bounds[0]) if kind == "choice" else (bounds[0] <= value <= bounds[1]):
            params[name] = value
    return params


def trial_config(config: TrainConfig, params: dict) -> TrainConfig:
    """``config`` with a trial's parameters: the training settings set, the model's arguments merged into ``model_args``."""
    training = {name: value for name, value in params.items() if name in TRAINING_SPACE}
    model_args = {**config.model_args, **{name: value for name, value in params.items() if name not in TRAINING_SPACE}}
    return dataclasses.replace(config, **training, model_args=model_args)


def study_splits(subset: GraphDataset, split: Split, config: TrainConfig, repeats: int) -> list[Split]:
    """``split`` (the config's, over the study's records) and ``repeats - 1`` more splits of the same records: the
    same method and train/validation fractions, seeded ``config.seed + 1``, ``+ 2``, ..."""
    n = len(subset)
    fractions = (len(split.train) / n, len(split.val) / n, 0.0)
    y = subset.labels.numpy() if is_classification(subset.task) else None
    return [split] + [make_split(config.split, n, smiles=subset.smiles, y=y, fractions=fractions, seed=config.seed + r)
                      for r in range(1, repeats)]


def study_dataset(dataset: GraphDataset, config: TrainConfig) -> tuple[GraphDataset, Split]:
    """The training and validation records of ``config``'s split, and that split over them (no test set)."""
    split = config_split(dataset, config)
    kept = np.concatenate([split.train, split.val])
    n_train, n_val = len(split.train), len(split.val)
    subset = dataset[torch.as_tensor(kept)]
    return subset, Split(np.arange(n_train), np.arange(n_train, n_train + n_val), np.array([], dtype=np.int64),
                         split.method, split.seed, (n_train / len(kept), n_val / len(kept), 0.0))


class ValueCallback(Callback):
    """Keeps the validation monitor of every epoch (``values``)."""

    def __init__(self):
        self.pruned, self.values = False, []

    def on_epoch_end(self, training, epoch: int, row: dict) -> None:
        self.values.append(float(row[f"val_{training.monitor}"]))


class PruningCallback(ValueCallback):
    """Also reports the validation monitor of every epoch to the Optuna trial, and stops a trial it should prune."""

    def __init__(self, trial):
        super().__init__()
        self.trial = trial

    def on_epoch_end(self, training, epoch: int, row: dict) -> None:
        super().on_epoch_end(training, epoch, row)
        self.trial.report(self.values[-1], epoch)
        if self.trial.should_prune():
            self.pruned = True
            training.stop = True


def tune(dataset: GraphDataset, study_dir: str | Path, config: TrainConfig, trials: int = 20, jobs: int = 1,
         timeout: float | None = None, seed: int = 0, warmup_epochs: int = 3, progress: bool = True,
         repeats: int = 1) -> TuneResult:
    """Search hyper-parameters of ``config.model`` on ``dataset``; see the module docstring.

    Args:
        dataset: the featurized data set; only the training and validation records of ``config``'s
            split enter the study.
        study_dir: the study folder (storage, trial run folders, best config); resumed when it exists.
        config: the base config; the trials change ``TRAINING_SPACE`` and the model's search space
            and keep everything else (epochs, patience, split, seed, oversampling, ...).
        trials: finished (complete or pruned) trials the study should have (with several jobs, the
            trials under way when the count is reached finish too).
        jobs: trials run at a time, each in its own process.
        timeout: seconds after which no new trial is started (per process).
        seed: seed of the samplers (process ``j`` uses ``seed + j``).
        warmup_epochs: epochs a trial runs before it can be pruned.
        progress: print one line per finished trial.
        repeats: splits each trial trains on, its objective their mean (pruning watches the first); a study
            keeps the number it was started with.
    """
    import optuna

    study_dir = Path(study_dir)
    study_dir.mkdir(parents=True, exist_ok=True)
    if not model_spec(config.model).search_space:
        raise ConfigError(f"model {config.model!r} declares no search space")
    if trials < 1 or jobs < 1 or repeats < 1:
        raise ConfigError(f"trials, jobs and repeats must be >= 1, got {trials}, {jobs} and {repeats}")
    monitor = monitor_for(config, dataset.task)
    storage = f"sqlite:///{study_dir / STUDY_FILE}"
    study = optuna.create_study(storage=_storage(storage), study_name="molgnn", load_if_exists=True,
                                direction="maximize" if monitor in MAXIMIZED else "minimize")
    if not study.trials:  # a new study: its first trial is the base config, the figure the search has to beat
        study.set_user_attr("repeats", repeats)
        study.enqueue_trial(base_params(config))
    if study.user_attrs.get("repeats", 1) != repeats:
        raise ConfigError(f"the study in {study_dir} scores each trial on {study.user_attrs.get('repeats', 1)} split(s), "
                          f"not {repeats}: resume it with that number, or start a study in another folder")
    subset, split = study_dataset(dataset, config)
    splits = study_splits(subset, split, config, repeats)
    atomic_write_text(study_dir / "base_config.json", json.dumps(config.to_dict(), indent=1))
    threads = max(1, core_budget() // jobs)
    arguments = (str(study_dir), storage, config.to_dict(), trials, timeout, warmup_epochs, progress, threads)
    if jobs == 1:
        _optimize(subset, splits, *arguments, seed)
    else:
        with ProcessPoolExecutor(jobs, initializer=torch.set_num_threads, initargs=(threads,)) as pool:
            for future in [pool.submit(_optimize, subset, splits, *arguments, seed + j) for j in range(jobs)]:
                future.result()
    return _result(optuna.load_study(study_name="molgnn", storage=_storage(storage)), study_dir, config, monitor)


def _optimize(subset: GraphDataset, splits: list[Split], study_dir: str, storage: str, config: dict, trials: int,
              timeout: float | None, warmup_epochs: int, progress: bool, threads: int, seed: int) -> None:
    """One process of the study: run trials until the study has ``trials`` finished ones."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base = TrainConfig.from_dict(config)
    space = {**TRAINING_SPACE, **model_spec(base.model).search_space}
    study = optuna.load_study(study_name="molgnn", storage=_storage(storage), sampler=optuna.samplers.TPESampler(seed=seed),
                              pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup_epochs))
    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    if len(study.get_trials(deepcopy=False, states=finished)) >= trials:
        return

    def objective(trial) -> float:
        trial_config_ = trial_config(base, suggest(trial, space))
        folder, best = trial_dir(study_dir, trial.number), []
        for r, split in enumerate(splits):
            callback = PruningCallback(trial) if r == 0 else ValueCallback()
            train(subset, folder if len(splits) == 1 else folder / f"split{r}", trial_config_, split=split, resume=False,
                  progress=False, callbacks=[callback], threads=threads)
            if callback.pruned:
                raise optuna.TrialPruned()
            best.append(max(callback.values) if study.direction == optuna.study.StudyDirection.MAXIMIZE
                        else min(callback.values))
            trial.set_user_attr("values", best)
        return float(np.mean(best))

    def report(study_, trial) -> None:
        if progress:
            value = "" if trial.value is None else f" {trial.value:.4f}"
            print(f"trial {trial.number}: {trial.state.name.lower()}{value} {trial.params}", flush=True)

    study.optimize(objective, timeout=timeout, callbacks=[optuna.study.MaxTrialsCallback(trials, states=finished), report])


def _storage(url: str):
    """The study's SQLite storage with heartbeats (a trial whose process died is marked failed a minute later).

    Optuna starts a queued trial (the enqueued base config) by reading its state and setting it to
    RUNNING "for update", a row lock that SQLite does not have: two processes could both start it,
    run the same trial in the same folder, and one then fails to report its result. Here that step
    holds a file lock beside the database, so the second process sees RUNNING and takes a new trial.
    """
    import warnings

    import optuna
    from filelock import FileLock
    from optuna.trial import TrialState

    class QueueLockedStorage(optuna.storages.RDBStorage):
        def set_trial_state_values(self, trial_id, state, values=None):
            if state != TrialState.RUNNING:
                return super().set_trial_state_values(trial_id, state, values)
            with FileLock(url.removeprefix("sqlite:///") + ".lock"):
                return super().set_trial_state_values(trial_id, state, values)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats are "experimental" since 2.9
        return QueueLockedStorage(url, heartbeat_interval=20, grace_period=60)


def _result(study, study_dir: Path, config: TrainConfig, monitor: str) -> TuneResult:
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ConfigError(f"the study in {study_dir} has no complete trial (all pruned or failed); run more trials")
    best = study.best_trial
    best_config = trial_config(config, best.params)
    path = study_dir / BEST_CONFIG
    atomic_write_text(path, json.dumps(best_config.to_dict(), indent=1))
    study.trials_dataframe().to_csv(study_dir / "trials.csv", index=False)
    counts = {state.name.lower(): len(study.get_trials(deepcopy=False, states=(state,)))
              for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
    result = TuneResult(float(best.value), best.number, best_config, path, monitor, counts, study_dir)
    atomic_write_text(study_dir / "summary.json", json.dumps(result.to_dict(), indent=1))
    return result
