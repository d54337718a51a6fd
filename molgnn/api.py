"""The notebook face of molgnn: a scikit-learn shaped estimator over SMILES or crystal structures.

    from molgnn.api import GNNEstimator
    est = GNNEstimator(model="hybrid", epochs=30).fit(smiles_train, labels_train)   # NaN = missing
    est.predict_proba(smiles_test); est.score(smiles_test, labels_test); est.save("runs/sider")
    GNNEstimator.load("runs/sider").predict(["CCO"])
    GNNEstimator.pretrained("tox21").predict_proba(["CCO"])   # a shipped model (molgnn models): mean; predict_std

Screening a whole library (streamed, parallel, resumable) or predicting a few records, with one
engine (see ``molgnn.screen``):

    from molgnn.api import predict, screen
    result = screen(["runs/fold0", "runs/fold1"], "library.csv", "hits.parquet")
    result.top(100, sort="co2_1bar", max_std=0.2)
    predict("runs/fold0", ["CCO", "c1ccccc1O"])   # a table: index, id, source, status, reason, predictions

Hyper-parameter search and ensembles, the twins of ``molgnn tune`` and ``molgnn train --ensemble``:

    from molgnn.api import train_ensemble, tune
    from molgnn.data import load_dataset
    dataset = load_dataset("tox21", featurizer=MoleculeFeaturizer(fingerprint_bits=2048, descriptors="rdkit2d"))
    study = tune(dataset, "studies/tox21", TrainConfig(model="hybrid_descriptors", epochs=30), trials=40, jobs=2)
    train_ensemble(dataset, "runs/tox21-ens", study.best_config, k=5)   # predict("runs/tox21-ens", ...): mean, std

A steered campaign, the twin of ``molgnn campaign`` (see ``molgnn.campaign``):

    from molgnn.api import run_campaign
    summary = run_campaign("campaign.toml", "campaigns/co2")   # picks, results, history.csv, discovery.png
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags, RegressorTags

from molgnn.campaign import CampaignConfig, run_campaign  # noqa: F401  (molgnn campaign)
from molgnn.chem.crystal import read_crystal
from molgnn.chem.errors import InvalidInputError
from molgnn.data.build import dataset_from_inputs
from molgnn.data.splits import Split
from molgnn.errors import DataError, MolgnnError
from molgnn.featurize.base import CRYSTALS, MOLECULES
from molgnn.featurize.registry import featurizer_for_kind, featurizer_from_config, kind_of_record
from molgnn.models.registry import model_spec
from molgnn.screen import ScreenResult, predict, screen, top_candidates  # noqa: F401  (the prediction face of the API)
from molgnn.screen.store import DOMAIN_COLUMN, prediction_columns
from molgnn.tasks import CLASSIFICATION_TASKS, REGRESSION_TASKS, is_classification
from molgnn.train.checkpoint import load_run
from molgnn.train.config import TrainConfig
from molgnn.train.domain import INSIDE
from molgnn.train.ensemble import ensemble_members, train_ensemble  # noqa: F401  (molgnn train --ensemble / --folds)
from molgnn.train.pretrained import resolve
from molgnn.train.trainer import train
from molgnn.train.tune import TuneResult, tune  # noqa: F401  (molgnn tune)


class NotFittedError(MolgnnError, RuntimeError):
    """A prediction asked of an estimator that has not been fitted or loaded."""


class NotClassifierError(MolgnnError, AttributeError):
    """``predict_proba`` asked of an estimator trained for regression."""


class NotEnsembleError(MolgnnError, AttributeError):
    """``predict_std`` asked of an estimator of one run, which has no spread."""


# per kind of input, the model of ``model="auto"`` and the settings of the default featurizer
DEFAULTS = {MOLECULES: ("hybrid", {"fingerprint_bits": 2048}), CRYSTALS: ("cgcnn", {"charges": "none"})}


class GNNEstimator(BaseEstimator):
    """Fit / predict / score / save / load a molgnn model; ``__init__`` only stores its arguments.

    A scikit-learn estimator (``get_params``, ``set_params``, ``clone``, ``cross_val_score``): a
    classifier when ``task`` (or, once fitted, the task found) is a classification, else a regressor
    (``is_classifier`` / ``is_regressor`` follow ``__sklearn_tags__``). Its inputs are records, not a
    numeric matrix, so of ``sklearn.utils.estimator_checks`` only the checks of parameters, cloning,
    tags and repr apply (``tests/test_api.py`` runs them); those that fit on random numeric arrays
    do not.

    Args:
        model: a registered model name, or ``"auto"`` (``hybrid`` for molecules, or ``attentivefp``
            with a featurizer without fingerprints; ``cgcnn`` for crystals).
        task: ``"auto"`` (binary labels -> classification), ``"multilabel"``, ``"binary"``,
            ``"regression"`` or ``"multiregression"``.
        featurizer: a featurizer; default ``MoleculeFeaturizer(fingerprint_bits=2048)`` or
            ``CrystalFeaturizer(charges="none")``, with the parts the model requires: for a model that
            reads charges, Gasteiger charges for molecules, and for crystals the CIF's charges when the
            first record has them, else learned charges (EQeq corrected towards DDEC, ``charges="learned"``).
        validation_fraction: part of the training data held out for early stopping.
        run_dir: where the run is written (default: a temporary folder; ``save`` copies it).
        oversample: oversampler applied to the training part (``none``, ``ml-ros``, ``mlsmote``,
            ``cooccurrence``), adding up to ``oversample_budget`` times its size.
        forest_trees, forest_weight: blend the network with a forest of extra trees on the graphs' fingerprint and
            descriptors (0 trees: off; the default molecule featurizer has a fingerprint, a crystal
            featurizer needs descriptors), the network's share chosen on validation (``"auto"``) or given;
            see ``TrainConfig``.
        epochs, batch_size, lr, weight_decay, patience, seed, model_args: see ``TrainConfig``.

    Fitted attributes: ``run_`` (the loaded run; an ensemble's first member), ``runs_`` (an ensemble's
    members, from ``pretrained``), ``task_``, ``targets_``, ``rejects_``, ``run_dir_``.
    """

    def __init__(self, model: str = "auto", task: str = "auto", featurizer=None, epochs: int = 50,
                 batch_size: int = 32, lr: float = 1e-3, weight_decay: float = 0.0, patience: int = 20,
                 validation_fraction: float = 0.1, seed: int = 0, model_args: dict | None = None,
                 oversample: str = "none", oversample_budget: float = 0.25, forest_trees: int = 0,
                 forest_weight: float | str = "auto", run_dir: str | Path | None = None, device: str | None = None,
                 progress: bool = False):
        self.model = model
        self.task = task
        self.featurizer = featurizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.model_args = model_args
        self.oversample = oversample
        self.oversample_budget = oversample_budget
        self.forest_trees = forest_trees
        self.forest_weight = forest_weight
        self.run_dir = run_dir
        self.device = device
        self.progress = progress

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        task = getattr(self, "task_", None) or self.task
        if task in CLASSIFICATION_TASKS:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_class=False, multi_label=task == "multilabel")
        elif task in REGRESSION_TASKS:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        tags.input_tags.two_d_array = False  # a list of SMILES, CIF paths or structures
        tags.input_tags.string = True
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.non_deterministic = False  # seeded
        return tags

    def fit(self, X: list, y, target_names: list[str] | None = None) -> GNNEstimator:
        """Train on inputs ``X`` (SMILES, CIF paths or pymatgen Structures) and labels ``y`` ([n] or [n, T], NaN = missing)."""
        X = list(X)
        if not X:
            raise DataError("fit needs at least one input")
        kind = kind_of_record(X[0])
        default_model, settings = DEFAULTS[kind]
        model = self.model if self.model != "auto" else default_model
        featurizer = self.featurizer or _default_featurizer(kind, settings, model_spec(model).requires, X[0])
        task = None if self.task == "auto" else self.task
        dataset = dataset_from_inputs(X, np.asarray(y, dtype=float), featurizer, targets=target_names, task=task,
                                      name="fit")
        if self.model == "auto" and "fingerprint" not in featurizer.provides and model == "hybrid":
            model = "attentivefp"  # the graph part of hybrid, for a featurizer without fingerprints
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(dataset))
        n_val = max(1, int(round(self.validation_fraction * len(dataset))))
        split = Split(np.sort(order[n_val:]), np.sort(order[:n_val]), np.array([], dtype=int), "random", self.seed,
                      (1 - self.validation_fraction, self.validation_fraction, 0.0))
        config = TrainConfig(model=model, model_args=dict(self.model_args or {}), epochs=self.epochs,
                             batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                             patience=self.patience, seed=self.seed, oversample=self.oversample,
                             oversample_budget=self.oversample_budget, forest_trees=self.forest_trees,
                             forest_weight=self.forest_weight)
        self.run_dir_ = Path(self.run_dir) if self.run_dir else Path(tempfile.mkdtemp(prefix="molgnn-run-"))
        train(dataset, self.run_dir_, config, split=split, resume=False, progress=self.progress, device=self.device)
        self._set_run(self.run_dir_)
        self.rejects_ = dataset.rejects
        return self

    def _set_run(self, run_dir: Path) -> None:
        self.__dict__.pop("runs_", None)  # a refit or reload replaces an ensemble by its one run
        self.run_ = load_run(run_dir, self.device or "cpu")
        self.run_dir_ = Path(run_dir)
        self.task_ = self.run_.task
        self.targets_ = self.run_.targets

    def _predict_frame(self, X, std: bool = False):
        """``[n, T]`` predictions (or, with ``std``, the ensemble's standard deviations) of the records ``X``."""
        if not hasattr(self, "run_"):
            raise NotFittedError("this GNNEstimator is not fitted yet; call fit(), GNNEstimator.load() or .pretrained()")
        runs = getattr(self, "runs_", [self.run_])
        if std and len(runs) == 1:
            raise NotEnsembleError("one run has no spread: predict_std needs an ensemble (GNNEstimator.pretrained, or "
                                   "an ensemble folder of molgnn train --ensemble / --folds)")
        frame = predict(runs, list(X), device=self.device or "cpu")
        bad = frame[frame["status"] != "ok"]
        if len(bad):
            warnings.warn(f"{len(bad)} input(s) could not be featurized and predict NaN, e.g. input "
                          f"{bad['id'].iloc[0]}: {bad['status'].iloc[0]} ({bad['reason'].iloc[0]})", stacklevel=3)
        if DOMAIN_COLUMN in frame:
            outside = frame[frame[DOMAIN_COLUMN].notna() & (frame[DOMAIN_COLUMN] != INSIDE)]
            if len(outside):
                warnings.warn(f"{len(outside)} input(s) lie outside the training domain (extrapolations), e.g. input "
                              f"{outside['id'].iloc[0]}: {outside[DOMAIN_COLUMN].iloc[0]}", stacklevel=3)
        values = frame[prediction_columns(frame)].to_numpy(dtype=float)
        n_targets = len(self.targets_)
        return values[:, n_targets:2 * n_targets] if std else values[:, :n_targets]

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities per label ``[n, T]`` (classification runs only)."""
        if not is_classification(self.run_.task if hasattr(self, "run_") else "regression"):
            raise NotClassifierError("predict_proba is only available for classification")
        return self._predict_frame(X)

    def predict(self, X) -> np.ndarray:
        """Values in the targets' units (regression) or 0/1 labels at the tuned thresholds (classification).

        A single target gives a 1-D array.
        """
        values = self._predict_frame(X)
        if is_classification(self.task_):  # an ensemble's thresholds: the mean of its members' tuned ones
            thresholds = np.mean([np.asarray(run.info.get("thresholds", 0.5)) for run in getattr(self, "runs_", [self.run_])],
                                 axis=0)
            values = np.where(np.isnan(values), np.nan, (values >= thresholds).astype(float))
        return values[:, 0] if values.shape[1] == 1 else values

    def predict_std(self, X) -> np.ndarray:
        """The ensemble's standard deviation across its members per target ``[n, T]`` (probabilities or values)."""
        values = self._predict_frame(X, std=True)
        return values[:, 0] if values.shape[1] == 1 else values

    def score(self, X, y) -> float:
        """Mean ROC-AUC over labels (classification) or mean R² over targets (regression), on observed labels."""
        from molgnn.train.metrics import classification_metrics, regression_metrics

        truth = np.asarray(y, dtype=float).reshape(len(X), -1)
        predicted = self._predict_frame(X)
        truth = np.where(np.isnan(predicted), np.nan, truth)  # inputs that could not be featurized are left out
        if is_classification(self.task_):
            value = classification_metrics(truth, predicted, self.targets_)["roc_auc"]
            if value is None:
                raise DataError("ROC-AUC is undefined: no label has both classes among the observed labels of y")
            return float(value)
        return float(regression_metrics(truth, predicted, self.targets_)["r2"])

    def save(self, path: str | Path) -> Path:
        """Copy the run folder to ``path`` (a self-describing run folder, usable by ``molgnn predict``)."""
        path = Path(path)
        if path.resolve() != self.run_dir_.resolve():
            shutil.copytree(self.run_dir_, path, dirs_exist_ok=True)
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> GNNEstimator:
        """The estimator of a run folder, fitted, with the parameters it was trained with."""
        run = load_run(Path(path), device or "cpu")
        config, fractions = run.info["train_config"], run.info["split"]["fractions"]
        estimator = cls(model=config["model"], task=run.task, featurizer=featurizer_from_config(run.info["featurizer"], path),
                        epochs=config["epochs"], batch_size=config["batch_size"], lr=config["lr"],
                        weight_decay=config["weight_decay"], patience=config["patience"], validation_fraction=fractions[1],
                        seed=config["seed"], model_args=config["model_args"] or None, oversample=config["oversample"],
                        oversample_budget=config["oversample_budget"], forest_trees=config.get("forest_trees", 0),
                        forest_weight=config.get("forest_weight", "auto"), run_dir=path, device=device)
        estimator._set_run(Path(path))
        return estimator

    @classmethod
    def pretrained(cls, name: str | Path, device: str | None = None) -> GNNEstimator:
        """A shipped model by name (``molgnn models`` lists them), or any ensemble folder, as a fitted estimator.

        ``predict`` / ``predict_proba`` give the mean over the ensemble's members and ``predict_std``
        their standard deviation; inputs outside the training domain get a warning that names why.
        """
        path = Path(resolve(name))
        members = ensemble_members(path) or [path]
        estimator = cls.load(members[0], device)
        estimator.runs_ = [estimator.run_] + [load_run(member, device or "cpu") for member in members[1:]]
        estimator.run_dir_ = path
        return estimator


def _default_featurizer(kind: str, settings: dict, requires: frozenset, first_record):
    """The API's featurizer of ``kind``: ``settings`` plus the parts a model with ``requires`` reads."""
    featurizer = featurizer_for_kind(kind)(**settings)
    if "charges" not in requires:
        return featurizer
    if kind == MOLECULES:
        return dataclasses.replace(featurizer, gasteiger=True)
    try:
        in_file = read_crystal(first_record).charges is not None
    except InvalidInputError:  # a bad first record is rejected with the others by the build
        in_file = False
    return dataclasses.replace(featurizer, charges="cif" if in_file else "learned")
