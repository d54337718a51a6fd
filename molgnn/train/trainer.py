"""The training loop: seeded, early-stopped, logged, resumable, with callbacks.

``train`` runs a ``Training`` in three steps: ``setup`` (split, target scaling, model,
optimizer, schedule, resumed state), ``run_epoch`` for each epoch, and ``finish`` (the best
model's metrics and plots); ``Callback`` objects are called at every epoch's start and end and with
the final metrics, for timing, logging elsewhere or stopping early (tuning trials).

Every epoch starts from ``torch.manual_seed(epoch_seed(seed, epoch))`` and shuffles with a
generator seeded the same way, so an epoch's result depends only on the state at its start: a run
resumed from ``last.pt`` (written atomically after every epoch) continues exactly as if it had
never stopped.

Under ``torchrun`` with ``TrainConfig.distributed`` set, each process is one learner of the same
loop (``molgnn.distributed``): it trains on its share of every global batch, the chosen mode
(DDP, K-AVG, MAVG, Hier-AVG) keeps the models together, validation is split between the
learners and gathered, and only the main learner reads and writes the run folder. The epoch
seeds and the data order do not depend on the number of learners, so a job restarted by
``torchrun`` with more or fewer learners continues from the last completed epoch.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from molgnn.atomic import atomic_path
from molgnn.cores import plan, torch_threads, uncontended
from molgnn.data.dataset import GraphDataset
from molgnn.data.oversample import oversample_dataset
from molgnn.data.splits import Split, make_split
from molgnn.distributed.averaging import Synchronizer, make_synchronizer
from molgnn.distributed.comm import AllReduceCount, counting_all_reduce
from molgnn.distributed.learners import Learners, join
from molgnn.distributed.sharding import gather_predictions, learner_batch_size, training_indices, validation_indices
from molgnn.errors import ConfigError
from molgnn.imbalance import make_oversampler
from molgnn.models.forest_blend import FOREST_PARTS
from molgnn.models.registry import build_model, model_spec
from molgnn.nn import DescriptorScaler
from molgnn.ownership import owned
from molgnn.tasks import is_classification
from molgnn.train import checkpoint
from molgnn.train.config import TrainConfig
from molgnn.train.domain import Domain, write_domain
from molgnn.train.evaluate import evaluate_split, monitor_value, predict_batches
from molgnn.train.forest import add_forest
from molgnn.train.loader import expanded_batches
from molgnn.train.metrics import regression_metrics
from molgnn.train.targets import TargetScaler, masked_loss, positive_weights

LAST = "last.pt"
MAXIMIZED = ("roc_auc", "pr_auc")  # monitors that improve upwards


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch`` (from 0) of a run seeded with ``seed``.

    The epoch starts from ``torch.manual_seed(epoch_seed(seed, epoch))`` and shuffles its data with
    a generator seeded the same way (under ``torchrun``, ``DistributedSampler`` with this seed), so
    its result depends only on the state at its start; runs with different seeds do not share an
    epoch seed within their first 100 003 epochs.
    """
    return seed * 100_003 + epoch


class Callback:
    """Hooks into a training run; each does nothing here, so a callback overrides only those it needs.

    ``on_epoch_start(training, epoch)`` runs before epoch ``epoch`` (from 0) trains;
    ``on_epoch_end(training, epoch, row)`` after it is validated and written (best weights,
    ``last.pt``, the log), with ``row`` its log row (``epoch``, ``train_loss``, ``val_loss``,
    ``val_<monitor>`` (``val_scaled_mae`` for ``mae``; see ``monitor_column``), for regression ``val_mae``
    in the targets' units, ``lr``, and the distributed figures; losses are on standardized targets);
    ``on_metrics(training, metrics)`` with the final metrics of the best model. Setting
    ``training.stop = True`` ends training after the current epoch (e.g. a tuning trial that is
    pruned). Under ``torchrun`` every learner runs the callbacks: one that stops training must decide
    alike on all (the rows' metrics are the same).
    A run found finished in its folder is not trained again and calls no callback.
    """

    def on_epoch_start(self, training: Training, epoch: int) -> None:
        """Before epoch ``epoch`` trains."""

    def on_epoch_end(self, training: Training, epoch: int, row: dict) -> None:
        """After epoch ``epoch`` is validated and written; ``row`` is its log row."""

    def on_metrics(self, training: Training, metrics: dict) -> None:
        """After the best model's final evaluation."""


def train(dataset: GraphDataset, run_dir: str | Path, config: TrainConfig, split: Split | None = None,
          resume: bool = True, progress: bool = True, device: str | torch.device | None = None,
          callbacks: Sequence[Callback] = (), threads: int | None = None) -> dict:
    """Train ``config.model`` on ``dataset`` into ``run_dir``; returns the final metrics.

    The run folder receives ``config.json`` (resolved config), ``split.json``, ``log.csv`` and
    ``log.json`` (one row per epoch), ``weights.pt`` + ``run.json`` (the best model, see
    ``molgnn.train.checkpoint``), ``metrics.json`` and plots. With ``resume`` an interrupted run
    continues from its last completed epoch; a finished run is not trained again. ``callbacks``
    are called at every epoch's start and end and with the final metrics (``Callback``). ``threads``
    is the torch thread count of the training (default: the cores this process may use, capped by
    ``OMP_NUM_THREADS`` and by the process's current torch thread count, so that a worker process given
    one thread keeps one; ``molgnn.cores``), restored when it returns.

    Launched by ``torchrun`` with ``config.distributed`` other than ``none``, every learner calls
    this function and gets the same metrics; ``device`` is then the learner's own GPU (or CPU).

    The main learner holds the run folder while it trains (``molgnn.ownership``): another
    process training into it is refused with ``OutputInUseError`` naming this one.
    """
    run_dir = Path(run_dir)
    _model_args(dataset, config)  # a model that does not fit the data is refused before the folder is made
    _check_split(dataset, config, split)
    if config.forest_trees and not set(FOREST_PARTS) & dataset.featurizer.provides:
        raise ConfigError(f"forest_trees: dataset {dataset.meta['name']!r} carries no fingerprint or global descriptors "
                          "for a forest to read; add one to the featurizer or set forest_trees = 0")
    if resume:  # on every learner (it only reads), so that all of them stop alike
        _check_same_run(run_dir, dataset, config)
    learners = join(config.distributed, device)
    with ExitStack() as held:

        def hold_run_dir() -> None:
            held.enter_context(owned(run_dir, "training run"))

        learners.from_main(hold_run_dir)  # a refusal is raised on every learner
        count = plan(0, threads).main_threads
        if threads is None:  # never more than the process runs with: a worker set to one thread keeps one
            count = min(count, torch.get_num_threads())
        held.enter_context(torch_threads(count))
        return _train(dataset, run_dir, config, learners, split, resume, progress, callbacks,
                      count if threads is None else None)


def _train(dataset: GraphDataset, run_dir: Path, config: TrainConfig, learners: Learners, split: Split | None,
           resume: bool, progress: bool, callbacks: Sequence[Callback], adapt_threads: int | None) -> dict:
    """The epochs of ``train``; with ``adapt_threads``, each runs on that many torch threads less the cores other
    processes keep busy at its start (``molgnn.cores.uncontended``)."""
    if learners.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    finished = learners.from_main(lambda: _finished_metrics(run_dir) if resume else None)
    if finished is not None:
        return finished
    training = Training.setup(dataset, run_dir, config, learners, split, resume)
    bar = tqdm(range(training.state["epoch"], config.epochs), initial=training.state["epoch"], total=config.epochs,
               unit="epoch", desc=f"train {config.model}", disable=not progress or not learners.is_main)
    for epoch in bar:
        if adapt_threads is not None:
            torch.set_num_threads(uncontended(adapt_threads))
        for callback in callbacks:
            callback.on_epoch_start(training, epoch)
        row = training.run_epoch(epoch)
        for callback in callbacks:
            callback.on_epoch_end(training, epoch, row)
        shown = "val_mae" if "val_mae" in row else monitor_column(training.monitor)
        bar.set_postfix(train_loss=f"{row['train_loss']:.4f}", **{shown: f"{row[shown]:.4f}"})
        if training.stop or training.state["bad_epochs"] >= config.patience:
            break
    bar.close()
    metrics = training.finish()
    for callback in callbacks:
        callback.on_metrics(training, metrics)
    return metrics


@dataclass
class Training:
    """One run between ``setup`` and ``finish``: what every epoch trains, and the state ``last.pt`` keeps.

    ``state`` holds the epochs done, the best monitor value, the epochs since it improved and the
    log rows; ``info`` is the ``run.json`` of the best model. ``net`` is ``model`` as the learners
    train it (wrapped by the synchronizer under ``torchrun``).
    """

    config: TrainConfig
    dataset: GraphDataset
    run_dir: Path
    learners: Learners
    split: Split
    scaler: TargetScaler
    pos_weight: torch.Tensor | None
    model: nn.Module
    net: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    synchronizer: Synchronizer | None
    train_set: GraphDataset
    val_set: GraphDataset
    info: dict
    state: dict
    averaged: AveragedModel | None = None
    stop: bool = False

    @property
    def evaluated(self) -> nn.Module:
        """The model that is validated and saved: the weight average with ``ema``, else the trained model."""
        return self.averaged.module if self.averaged is not None else self.model

    @classmethod
    def setup(cls, dataset: GraphDataset, run_dir: Path, config: TrainConfig, learners: Learners,
              split: Split | None = None, resume: bool = True) -> Training:
        """The split, target scaling, model, optimizer and schedule, resumed from ``last.pt`` when there is one."""
        device = learners.device
        split = learners.from_main(lambda: _resolve_split(dataset, run_dir, config, split, resume))
        task, labels = dataset.task, dataset.labels
        scaler = TargetScaler.fit(labels[torch.as_tensor(split.train)], task, config.target_transform)
        pos_weight = positive_weights(labels[torch.as_tensor(split.train)]).to(device) \
            if config.pos_weight and is_classification(task) else None
        model_args = _model_args(dataset, config)
        torch.manual_seed(config.seed)
        model = build_model(config.model, **model_args).to(device)
        _fit_descriptor_scalers(model, dataset[torch.as_tensor(split.train)])
        optimizer = _optimizer(model, config)
        scheduler = _scheduler(optimizer, config, monitor_for(config, task) in MAXIMIZED)
        state = {"epoch": 0, "best": None, "bad_epochs": 0, "history": []}
        averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True) \
            if config.ema > 0 else None
        synchronizer = make_synchronizer(config.distributed, learners, config.average_every, config.block_momentum,
                                         config.group_size, config.global_every) if learners.distributed else None
        saved = learners.from_main(lambda: _load_last(run_dir, "cpu" if learners.distributed else device) if resume else None)
        if saved is not None:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(saved["scheduler"])
            state = saved["state"]
            if averaged is not None:
                averaged.load_state_dict(saved["ema"])
            if synchronizer is not None:
                synchronizer.load_state_dict(saved.get("synchronizer", {}))
        if learners.is_main:  # what the run was trained on, for the applicability flags of its predictions
            run_dir.mkdir(parents=True, exist_ok=True)
            write_domain(run_dir, Domain.of_dataset(dataset, split.train))
        train_set, val_set = dataset[torch.as_tensor(split.train)], dataset[torch.as_tensor(split.val)]
        if config.oversample != "none":
            train_set = _oversampled(train_set, config, run_dir if learners.is_main else None)
        info = {"model": {"name": config.model, "args": model_args, "requires": sorted(model_spec(config.model).requires)},
                "featurizer": dataset.meta["featurizer"],
                "task": task, "targets": dataset.targets, "units": dataset.units, "scaler": scaler.to_dict(),
                "dataset": {"name": dataset.meta["name"], "source": dataset.meta.get("source")},
                "split": split.to_dict(dataset.ids), "train_config": config.to_dict()}
        net = synchronizer.wrap(model) if synchronizer is not None else model
        return cls(config, dataset, run_dir, learners, split, scaler, pos_weight, model, net, optimizer, scheduler,
                   synchronizer, train_set, val_set, info, state, averaged)

    @property
    def monitor(self) -> str:
        """The validation metric that early stopping and the best weights follow."""
        return monitor_for(self.config, self.dataset.task)

    def run_epoch(self, epoch: int) -> dict:
        """Train and validate epoch ``epoch``, step the schedule, keep the weights if they are the best so far,
        write ``last.pt`` and the log (main learner); returns the epoch's log row."""
        config, task, device = self.config, self.dataset.task, self.learners.device
        torch.manual_seed(epoch_seed(config.seed, epoch))
        if self.synchronizer is None:
            generator = torch.Generator().manual_seed(epoch_seed(config.seed, epoch))
            loader = expanded_batches(self.train_set, config.batch_size, shuffle=True, generator=generator)
            after_step = (lambda: self.averaged.update_parameters(self.model)) if self.averaged is not None else None
            train_loss = _train_epoch(self.model, loader, self.optimizer, task, self.scaler, self.pos_weight,
                                      config.grad_clip, device, after_step, config.loss)
            val_true, val_pred, val_loss = predict_batches(self.evaluated, expanded_batches(self.val_set, config.batch_size),
                                                           task, self.scaler, device, config.loss)
            learning = {}
        else:
            train_loss, learning = _learners_train_epoch(self.net, self.model, self.synchronizer, self.learners,
                                                         self.train_set, self.optimizer, task, self.scaler,
                                                         self.pos_weight, config, epoch)
            val_true, val_pred, val_loss = _learners_predict(self.model, self.learners, self.val_set, task, self.scaler,
                                                             config.batch_size)
            learning["epoch_seconds"] = time.perf_counter() - learning["epoch_seconds"]
        value = monitor_value(self.monitor, task, val_true, val_pred, val_loss, self.scaler)
        if config.scheduler == "plateau":
            self.scheduler.step(value)
        elif self.scheduler is not None:
            self.scheduler.step()
        state = self.state
        best = state["best"]
        if best is None or (value > best if self.monitor in MAXIMIZED else value < best):
            state["best"], state["bad_epochs"] = value, 0
            if self.learners.is_main:
                self.info["weights_sha256"] = checkpoint.save_weights(self.run_dir, self.evaluated)
                self.info["best_epoch"] = epoch + 1
                checkpoint.save_info(self.run_dir, self.info)
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch + 1
        row = {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val_loss,  # the learning curves plot the next column
               **_target_unit_columns(task, val_true, val_pred, self.dataset.targets), monitor_column(self.monitor): value,
               "lr": self.optimizer.param_groups[0]["lr"], **learning}
        state["history"].append(row)
        if self.learners.is_main:
            _save_last(self.run_dir, self.model, self.optimizer, self.scheduler, state, self.synchronizer, self.averaged)
            _write_log(self.run_dir, state["history"])
        return row

    def finish(self) -> dict:
        """Validation and test metrics of the best weights (blended with a forest when ``config.forest_trees`` asks),
        tuned thresholds and plots (``metrics.json``)."""

        def final_metrics() -> dict:
            if self.config.forest_trees:
                add_forest(self.run_dir, self.dataset, self.split, self.config.forest_trees, self.config.forest_weight,
                           self.config.seed, self.learners.device)
            run = checkpoint.load_run(self.run_dir, self.learners.device)
            metrics = evaluate_split(run, self.dataset, self.split, self.run_dir, self.state["history"],
                                     self.config.batch_size, self.learners.device)
            (self.run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
            return metrics

        return self.learners.from_main(final_metrics)


def _check_same_run(run_dir: Path, dataset: GraphDataset, config: TrainConfig) -> None:
    """Refuse to resume (or to report as finished) a run in ``run_dir`` trained with another config or on other data.

    Without this a finished run's metrics would be returned for a config it was not trained with,
    and its ``config.json`` rewritten to say so. Nothing is written before the check.
    """
    saved = run_dir / "config.json"
    if not saved.exists():
        return
    found, wanted = _deciding(json.loads(saved.read_text())), _deciding(config.to_dict())
    differ = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
    info = run_dir / checkpoint.INFO
    if info.exists() and _comparable(json.loads(info.read_text()).get("featurizer", {})) != _comparable(dataset.meta["featurizer"]):
        differ.append("featurizer")
    if differ:
        raise ConfigError(f"{run_dir} holds a run with another training config or data (they differ in "
                          f"{', '.join(differ)}); train into another folder, or start over there with resume=False "
                          "(molgnn train --no-resume)")


def _deciding(config: dict) -> dict:
    """A saved config without the settings that decide nothing in it: the forest's weight in a run without a forest
    (so a run saved before ``forest_weight``'s default changed still resumes)."""
    return {k: v for k, v in config.items() if not (k == "forest_weight" and not config.get("forest_trees"))}


def _comparable(featurizer: dict) -> dict:
    """A featurizer config without the path of an ``atom_init.json`` (a run folder keeps a copy), known by its hash."""
    return {k: v for k, v in featurizer.items() if k != "element_features" or "element_features_sha256" not in featurizer}


def _finished_metrics(run_dir: Path) -> dict | None:
    path = run_dir / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def _load_last(run_dir: Path, device) -> dict | None:
    path = run_dir / LAST
    return torch.load(path, map_location=device, weights_only=True) if path.exists() else None


def _learners_train_epoch(net, model, synchronizer: Synchronizer, learners: Learners, train_set, optimizer, task: str,
                          scaler: TargetScaler, pos_weight, config: TrainConfig, epoch: int) -> tuple[float, dict]:
    """One epoch of this learner on its share of the data; the loss is the mean over all learners' graphs.

    Returns the loss and the epoch's distributed figures: learners, all-reduce calls and bytes of
    this learner (gradients or models; the loss and validation exchanges are not counted), and the
    start time (``epoch_seconds`` becomes the duration once validation is done).
    """
    started = time.perf_counter()
    indices = training_indices(len(train_set), learners, epoch_seed(config.seed, epoch))
    loader = expanded_batches(train_set[torch.as_tensor(indices, dtype=torch.long)],
                              learner_batch_size(config.batch_size, learners))
    count = AllReduceCount()
    with counting_all_reduce(count):
        loss = _train_epoch(net, loader, optimizer, task, scaler, pos_weight, config.grad_clip, learners.device,
                            lambda: synchronizer.after_step(model), config.loss)
        synchronizer.end_epoch(model)
    total, graphs = learners.sum([loss * len(indices), len(indices)])
    return total / max(graphs, 1), {"learners": learners.size, "steps": synchronizer.steps,
                                    "allreduce_calls": count.calls, "allreduce_bytes": count.bytes, "epoch_seconds": started}


def _learners_predict(model, learners: Learners, val_set, task: str, scaler: TargetScaler, batch_size: int):
    """Validation split between the learners, every graph once, gathered in order on every learner."""
    indices = validation_indices(len(val_set), learners)
    share = val_set[torch.as_tensor(indices, dtype=torch.long)]
    y_true, y_pred, loss = predict_batches(model, expanded_batches(share, batch_size), task, scaler, learners.device)
    return gather_predictions(learners, indices, y_true, y_pred, loss)


def monitor_column(monitor: str) -> str:
    """The log column of a monitor: ``val_scaled_mae`` for ``mae`` (MAE over each target's std, averaged:
    not in the targets' units), ``val_<monitor>`` for the others."""
    return "val_scaled_mae" if monitor == "mae" else f"val_{monitor}"


def _target_unit_columns(task: str, y_true, y_pred, targets: list[str]) -> dict:
    """``val_mae``: the validation MAE in the targets' units (averaged over targets, as in ``metrics.json``) for regression."""
    if is_classification(task) or not len(y_true):
        return {}
    return {"val_mae": regression_metrics(y_true, y_pred, targets)["mae"]}


def monitor_for(config: TrainConfig, task: str) -> str:
    """The validation metric ``config`` monitors on a ``task``: ``config.monitor``, with ``auto`` resolved."""
    if config.monitor != "auto":
        return config.monitor
    return "roc_auc" if is_classification(task) else "mae"


def _resolve_split(dataset: GraphDataset, run_dir: Path, config: TrainConfig, split: Split | None,
                   resume: bool) -> Split:
    saved = run_dir / "split.json"
    if resume and saved.exists():
        return Split.from_dict(json.loads(saved.read_text()), dataset.ids)
    if split is None:
        split = config_split(dataset, config)
    saved.write_text(json.dumps(split.to_dict(dataset.ids)))
    return split


def _check_split(dataset: GraphDataset, config: TrainConfig, split: Split | None) -> None:
    if split is None and config.split == "stratified" and not is_classification(dataset.task):
        raise ConfigError(f"a stratified split balances class labels, but dataset {dataset.meta['name']!r} is a "
                          f"{dataset.task} task: use split 'random' or 'scaffold'")


def config_split(dataset: GraphDataset, config: TrainConfig) -> Split:
    """The split ``config`` asks for on ``dataset``: ``config.split`` with its fractions, seeded by ``config.seed``."""
    _check_split(dataset, config, None)
    y = dataset.labels.numpy() if is_classification(dataset.task) else None
    return make_split(config.split, len(dataset), smiles=dataset.smiles, y=y, fractions=config.split_fractions,
                      seed=config.seed)


def _oversampled(train_set: GraphDataset, config: TrainConfig, run_dir: Path | None) -> GraphDataset:
    """The training split with the oversampler's additions; its imbalance before/after goes to ``imbalance.json``.

    Every learner oversamples (seeded, so identically); only the main one (``run_dir`` given) writes the report.
    """
    oversampler = make_oversampler(config.oversample, budget=config.oversample_budget, seed=config.seed)
    oversampled = oversample_dataset(train_set, oversampler)
    if run_dir is not None:
        (run_dir / "imbalance.json").write_text(json.dumps(oversampled.summary(), indent=1))
    return oversampled.dataset


def _model_args(dataset: GraphDataset, config: TrainConfig) -> dict:
    """The model's arguments: input sizes from the dataset's featurizer, ``out_dim`` from its targets, then ``model_args``."""
    data = model_spec(config.model).data_arguments(dataset.featurizer, len(dataset.targets), f"dataset {dataset.meta['name']!r}")
    return {**data, **config.model_args}


def _fit_descriptor_scalers(model: nn.Module, train_set: GraphDataset) -> None:
    """Set every ``DescriptorScaler`` of ``model`` from the training graphs (a resumed run then loads its own)."""
    scalers = [module for module in model.modules() if isinstance(module, DescriptorScaler)]
    if scalers:
        values = train_set.descriptors
        for scaler in scalers:
            scaler.fit(values)


def _optimizer(model, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return cls(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def _scheduler(optimizer, config: TrainConfig, maximize: bool):
    if config.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(config.epochs // 3, 1), gamma=0.1)
    if config.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max" if maximize else "min",
                                                          patience=max(config.patience // 3, 1))
    return None


def _train_epoch(model, loader, optimizer, task: str, scaler: TargetScaler, pos_weight, grad_clip: float,
                 device, after_step=None, loss_kind: str = "auto") -> float:
    model.train()
    total, count = 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        optimizer.zero_grad()
        loss = masked_loss(task, model(batch), scaler.scale(batch.y), batch.y_mask, pos_weight, loss_kind)
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        if after_step is not None:
            after_step()
        total += loss.item() * batch.num_graphs
        count += batch.num_graphs
    return total / max(count, 1)


def _save_last(run_dir: Path, model, optimizer, scheduler, state: dict, synchronizer: Synchronizer | None = None,
               averaged: AveragedModel | None = None) -> None:
    payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
               "scheduler": scheduler.state_dict() if scheduler is not None else {}, "state": state}
    if averaged is not None:
        payload["ema"] = averaged.state_dict()
    if synchronizer is not None:
        payload["synchronizer"] = synchronizer.state_dict()
    with atomic_path(run_dir / LAST) as temporary:
        torch.save(payload, temporary)


def _write_log(run_dir: Path, history: list[dict]) -> None:
    (run_dir / "log.json").write_text(json.dumps(history, indent=1))
    with (run_dir / "log.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)


