"""The typed training configuration; unknown keys are rejected, the resolved config is saved."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from molgnn.config_files import read_config_file, refuse_unknown_keys
from molgnn.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("none", "cosine", "plateau", "step")
SPLITS = ("random", "scaffold", "stratified")
MONITORS = ("auto", "loss", "roc_auc", "pr_auc", "mae")
DISTRIBUTED = ("none", "ddp", "kavg", "mavg", "hier")
LOSSES = ("auto", "mse", "l1", "huber")
TARGET_TRANSFORMS = ("none", "log1p")
# the annotation of a field (a string: annotations are postponed) -> the values it takes; an int is a float too
FIELD_TYPES = {"str": str, "int": int, "float": int | float, "bool": bool, "dict": dict}


@dataclass
class TrainConfig:
    """Everything that decides a training run besides the data.

    ``model`` names a registered model (``molgnn.models.MODELS``, ``molgnn models`` lists them) and
    ``model_args`` sets any of its arguments (``ModelSpec.arguments()``); the input sizes come from the
    dataset's featurizer.

    ``oversample`` names an oversampler of ``molgnn.imbalance.OVERSAMPLERS`` applied to the training
    split only (``none``, ``ml-ros``, ``mlsmote``, ``cooccurrence``), adding ``oversample_budget`` times
    the training set's size at most, seeded by ``seed``; see ``molgnn.data.oversample``.

    ``monitor`` is the validation metric for early stopping and for keeping the best weights:
    ``auto`` is ``roc_auc`` for classification and ``mae`` for regression (for several targets,
    the mean over targets of MAE divided by the target's standard deviation, so that targets in
    different units count equally).

    For regression, ``loss`` is ``mse`` (``auto``), ``l1`` or ``huber`` (smooth L1 with unit
    threshold) on standardized targets, and ``target_transform`` ``log1p`` standardizes
    ``log(1 + y)`` instead of ``y`` and maps predictions back with ``exp(z) - 1`` clipped at 0: for
    targets that cannot be negative (uptakes, counts) it gives no negative prediction and weighs
    relative rather than absolute errors. ``ema`` > 0 keeps an exponential moving average of the
    weights (that decay per optimizer step, ``torch.optim.swa_utils``); validation, the best weights
    and the saved model are the average's, which smooths the epoch-to-epoch noise of a small
    validation set.

    ``distributed`` picks how learners launched by ``torchrun`` train together (see
    ``molgnn.distributed``): ``ddp`` all-reduces gradients every step; ``kavg`` averages the
    models every ``average_every`` (K) local steps; ``mavg`` does the same with block momentum
    ``block_momentum`` (μ); ``hier`` averages within groups of ``group_size`` (S) learners every
    K steps and over all learners every ``global_every`` (K2) group averages. ``batch_size`` is
    the global batch: each of P learners takes ``batch_size // P`` graphs per step.

    ``forest_trees`` > 0 blends the trained network with a forest of that many extremely randomized
    trees per target on the graphs' fingerprint and global descriptors, fitted on the training split (not
    oversampled) once the network is trained: the run predicts ``forest_weight * network +
    (1 - forest_weight) * forest`` (probabilities for classification), and its metrics and decision
    thresholds are the blend's (``molgnn.train.forest``). ``forest_weight="auto"`` (the default) takes
    the weight among 0, 0.1, ..., 1 whose blend scores best on the validation split.
    """

    model: str = "cgcnn"
    model_args: dict = field(default_factory=dict)
    epochs: int = 50
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adamw"
    scheduler: str = "none"
    grad_clip: float = 5.0
    patience: int = 20
    monitor: str = "auto"
    pos_weight: bool = False
    split: str = "random"
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    oversample: str = "none"
    oversample_budget: float = 0.25
    distributed: str = "none"
    average_every: int = 4
    block_momentum: float = 0.5
    group_size: int = 2
    global_every: int = 4
    loss: str = "auto"
    target_transform: str = "none"
    ema: float = 0.0
    forest_trees: int = 0
    forest_weight: float | str = "auto"

    def __post_init__(self):
        # the registries import torch and scikit-learn: imported here, so that the command line answers without them
        from molgnn.imbalance import OVERSAMPLERS
        from molgnn.models.registry import MODELS
        from molgnn.train.forest import check_weight

        for spec in fields(self):
            value, expected = getattr(self, spec.name), FIELD_TYPES.get(spec.type)
            if expected and (not isinstance(value, expected) or isinstance(value, bool) and spec.type != "bool"):
                raise ConfigError(f"{spec.name} must be of type {spec.type}, got {value!r}")
        for name, value, choices in [("model", self.model, tuple(MODELS)),
                                     ("optimizer", self.optimizer, OPTIMIZERS), ("scheduler", self.scheduler, SCHEDULERS),
                                     ("split", self.split, SPLITS), ("monitor", self.monitor, MONITORS),
                                     ("oversample", self.oversample, tuple(OVERSAMPLERS)),
                                     ("distributed", self.distributed, DISTRIBUTED), ("loss", self.loss, LOSSES),
                                     ("target_transform", self.target_transform, TARGET_TRANSFORMS)]:
            if value not in choices:
                raise ConfigError(f"{name} must be one of {choices}, got {value!r}")
        if not isinstance(self.split_fractions, list | tuple) or not all(
                isinstance(f, int | float) and not isinstance(f, bool) for f in self.split_fractions):
            raise ConfigError(f"split_fractions must be three numbers summing to 1, got {self.split_fractions}")
        MODELS[self.model].check_arguments(self.model_args)
        _check_model_args(MODELS[self.model], self.model_args)
        self.split_fractions = tuple(float(f) for f in self.split_fractions)
        if len(self.split_fractions) != 3 or abs(sum(self.split_fractions) - 1) > 1e-6 or min(self.split_fractions) < 0 \
                or not min(self.split_fractions[:2]) > 0:
            raise ConfigError(f"split_fractions must be three numbers >= 0 summing to 1, train and val > 0, "
                              f"got {self.split_fractions}")
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1 or self.seed < 0:
            raise ConfigError(f"epochs, batch_size and patience must be >= 1 and seed >= 0, got epochs={self.epochs}, "
                              f"batch_size={self.batch_size}, patience={self.patience}, seed={self.seed}")
        for name in ("lr", "weight_decay", "grad_clip", "block_momentum"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0 or name == "lr" and value == 0:
                raise ConfigError(f"{name} must be a finite number {'> 0' if name == 'lr' else '>= 0'}, got {value!r}")
        if not 0 <= self.oversample_budget <= 10:
            raise ConfigError(f"oversample_budget is a fraction of the training set in [0, 10], got {self.oversample_budget}")
        if self.average_every < 1 or self.group_size < 1 or self.global_every < 1:
            raise ConfigError("average_every, group_size and global_every must be >= 1")
        if not 0 <= self.block_momentum < 1:
            raise ConfigError(f"block_momentum must be in [0, 1), got {self.block_momentum}")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"ema is a decay per step in [0, 1) (0: no averaging), got {self.ema}")
        if self.forest_trees < 0:
            raise ConfigError(f"forest_trees must be >= 0 (0: no forest), got {self.forest_trees}")
        check_weight(max(self.forest_trees, 1), self.forest_weight)
        if self.ema and self.distributed != "none":
            raise ConfigError("ema (weight averaging) is for single-process training; set ema = 0 with distributed")

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        refuse_unknown_keys(cls, values, "training")
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a JSON (or TOML, by extension) config file; ``ConfigError`` names a file that cannot be read."""
        return cls.from_dict(read_config_file(path, "training"))

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))


def _check_model_args(spec, values: dict) -> None:
    """Refuse ``model_args`` whose values do not fit ``spec``'s signature before any data is read.

    Each value must have the type of the argument's default (an int where an int is expected, a
    number for a float, a bool for a flag), sizes and counts (int arguments) must be >= 1 and
    ``dropout`` in [0, 1); then the model is built once on small input sizes, so that any other
    refusal of its constructor comes now, as a ``ConfigError``.
    """
    defaults = spec.arguments()
    for name, value in values.items():
        default = defaults[name]
        expected = FIELD_TYPES.get(type(default).__name__) if default is not None else None
        if expected and (not isinstance(value, expected) or isinstance(value, bool) and not isinstance(default, bool)):
            raise ConfigError(f"model_args {name} of model {spec.name!r} must be of type {type(default).__name__} "
                              f"(default {default!r}), got {value!r}")
        if isinstance(default, int) and not isinstance(default, bool) and value < 1:
            raise ConfigError(f"model_args {name} of model {spec.name!r} is a size or count >= 1, got {value!r}")
        if name == "dropout" and not 0 <= value < 1:
            raise ConfigError(f"model_args dropout of model {spec.name!r} must be in [0, 1), got {value!r}")
    import inspect

    sizes = {"node_dim": 8, "edge_dim": 4, "fp_dim": 16, "descriptor_dim": 2, "out_dim": 1}
    parameters = inspect.signature(spec.cls).parameters
    try:
        spec.build(**{k: v for k, v in sizes.items() if k in parameters and k not in spec.fixed}, **values)
    except (RuntimeError, ValueError, TypeError, ArithmeticError) as error:
        raise ConfigError(f"model {spec.name!r} cannot be built with model_args {values}: {error}") from error
