"""``molgnn train DATA --model NAME``: train a model into a run folder and print its metrics."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from molgnn.cli.featurize import dataset_arguments, load_from_args
from molgnn.errors import ConfigError
from molgnn.train.config import DISTRIBUTED, LOSSES, OPTIMIZERS, SCHEDULERS, SPLITS, TARGET_TRANSFORMS, TrainConfig

# the descriptor sets a model that reads descriptors gets when --descriptors is not given, per kind of data
DEFAULT_DESCRIPTORS = {"molecules": "rdkit2d", "crystals": "pores,energies"}


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="train a model on a dataset into a run folder")
    dataset_arguments(parser)
    parser.add_argument("--out", required=True, help="run folder (an interrupted run resumes there)")
    config_arguments(parser)
    parser.add_argument("--no-resume", action="store_true", help="start over even if the run folder has a run")
    members = parser.add_mutually_exclusive_group()
    members.add_argument("--ensemble", type=int, metavar="K",
                         help="train K members on one split with seeds SEED..SEED+K-1 into an ensemble folder OUT")
    members.add_argument("--folds", type=int, metavar="K",
                         help="train K members by K-fold cross-validation into an ensemble folder OUT")
    parallel = parser.add_argument_group("distributed training (launch with torchrun, see the README)")
    parallel.add_argument("--distributed", choices=DISTRIBUTED, help="ddp, K-AVG, block-momentum MAVG or Hier-AVG (default none)")
    parallel.add_argument("--average-every", type=int, help="K: local steps between model averages (kavg, mavg, hier)")
    parallel.add_argument("--block-momentum", type=float, help="mu of mavg (0 gives kavg)")
    parallel.add_argument("--group-size", type=int, help="S: learners per group of hier")
    parallel.add_argument("--global-every", type=int, help="K2: group averages between global averages (hier)")


def config_arguments(parser) -> None:
    """The flags of the training config (shared by train and tune); unset, the config file's or default value holds."""
    parser.add_argument("--config", help="JSON/TOML training config; unknown keys are rejected; flags override it")
    parser.add_argument("--model", help="a registered model (molgnn models lists them; default cgcnn)")
    parser.add_argument("--model-args", type=json.loads, help='model arguments as JSON, e.g. \'{"hidden": 128}\'')
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--optimizer", choices=OPTIMIZERS)
    parser.add_argument("--scheduler", choices=SCHEDULERS)
    parser.add_argument("--patience", type=int, help="early stopping patience in epochs")
    parser.add_argument("--split", choices=SPLITS)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--oversample", help="oversample the training split: ml-ros, mlsmote or molgnn's own, "
                                             "cooccurrence (default none)")
    parser.add_argument("--oversample-budget", type=float, help="samples to add, as a fraction of the training set (0.25)")
    parser.add_argument("--pos-weight", action="store_true", default=None, help="weight positives per label")
    parser.add_argument("--loss", choices=LOSSES, help="regression loss on standardized targets (default mse)")
    parser.add_argument("--target-transform", choices=TARGET_TRANSFORMS,
                        help="log1p: learn log(1 + y), never predict below 0 (uptakes, counts)")
    parser.add_argument("--ema", type=float, help="decay per step of the weight average that is validated and saved (0: off)")
    parser.add_argument("--forest-trees", type=int, help="blend the trained network with a forest of this many extra "
                        "trees per target on the fingerprint and descriptors (0: off)")
    parser.add_argument("--forest-weight", type=_weight, help="the network's share of the blend with the forest, in [0, 1], "
                        "or auto: the share among 0, 0.1, ..., 1 that scores best on validation (auto)")


def _weight(text: str) -> float | str:
    """``--forest-weight``: ``auto`` or a number (its range is checked with the config)."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1] or auto, got {text!r}") from None


def resume_hint(args) -> str:
    return f"rerun the same command to resume from the last finished epoch in {args.out}"


def config_from_args(args) -> TrainConfig:
    """The training config of ``--config`` with the flags set on top; the featurizer flags the model and the
    oversampler need (fingerprints, descriptors) are switched on in ``args``."""
    from molgnn.imbalance import OVERSAMPLERS
    from molgnn.models.registry import model_spec

    values = TrainConfig.from_file(args.config).to_dict() if args.config else {}
    for key in ("model", "model_args", "epochs", "batch_size", "lr", "weight_decay", "optimizer", "scheduler",
                "patience", "split", "seed", "pos_weight", "oversample", "oversample_budget", "distributed",
                "average_every", "block_momentum", "group_size", "global_every", "loss", "target_transform", "ema",
                "forest_trees", "forest_weight"):
        if getattr(args, key, None) is not None:
            values[key] = getattr(args, key)
    config = TrainConfig.from_dict(values)
    spec = model_spec(config.model)
    needs = spec.requires | OVERSAMPLERS[config.oversample].requires
    if config.forest_trees:  # the forest reads the fingerprint (molecules) and the global descriptors
        needs |= {"fingerprint", "descriptors"} if spec.kind == "molecules" else {"descriptors"}
    if "fingerprint" in needs and not args.fingerprint_bits:
        args.fingerprint_bits = 2048
    if "descriptors" in needs and args.descriptors is None:
        args.descriptors = DEFAULT_DESCRIPTORS[spec.kind]
    return config


def run(args) -> int:
    from molgnn.data.paths import resolve_cache_dir
    from molgnn.distributed.environment import torchrun_environment
    from molgnn.distributed.learners import join, leave
    from molgnn.train.ensemble import train_ensemble
    from molgnn.train.trainer import train

    config = config_from_args(args)
    k = args.ensemble or args.folds
    if k:
        if config.distributed != "none":
            raise ConfigError("--ensemble / --folds train the members one after the other in this process; "
                              "drop --distributed")
        metrics = train_ensemble(load_from_args(args), Path(args.out), config, k, "seeds" if args.ensemble else "folds",
                                 resume=not args.no_resume, progress=not args.json)
        return _print_ensemble(metrics, args)
    try:
        learners = join(config.distributed)  # under torchrun, rank 0 builds the dataset cache while the others wait
        dataset = learners.in_turns(lambda: load_from_args(args), f"the dataset cache of {args.data} in "
                                    f"{resolve_cache_dir(args.cache_dir)}", args.cache_wait, progress=not args.json)
        metrics = train(dataset, Path(args.out), config, resume=not args.no_resume, progress=not args.json)
    finally:
        leave()
    if torchrun_environment().rank != 0:
        return 0  # every learner of a torchrun job has the same metrics: the main one prints them
    if args.json:
        print(json.dumps(metrics))
    else:
        for split in ("val", "val_tuned_threshold", "test", "test_tuned_threshold"):  # each says its threshold
            if split in metrics:
                print(f"{split}: {_scores(metrics[split])}")
        for name, scores in metrics.get("test_parts", {}).items():  # a blend's network and forest, each alone
            print(f"test, {name}: {_scores(scores)}")
        if "blend_network_weight" in metrics:
            print(f"the blend: {metrics['blend_network_weight']:g} x network + {1 - metrics['blend_network_weight']:g} x forest")
        _print_baselines(metrics)
        print(f"run folder: {args.out}")
    return 0


def _print_baselines(metrics: dict) -> None:
    for name, scores in metrics.get("test_baselines", {}).items():
        print(f"test, {name} on the same split: " + ", ".join(
            f"{target} MAE={s['mae']:.4g} R2={s['r2']:.4g}" for target, s in scores.items()))


def _print_ensemble(metrics: dict, args) -> int:
    if args.json:
        print(json.dumps(metrics))
        return 0
    pooled = "ensemble" if metrics["mode"] == "seeds" else "out_of_fold"
    print(f"members' test mean: {_scores(metrics['member_mean'])}")
    print(f"{pooled.replace('_', '-')}: {_scores(metrics[pooled])}")
    print(f"ensemble folder ({metrics['k']} members): {args.out}")
    return 0


def _scores(scores: dict) -> str:
    shown = {k: v for k, v in scores.items() if not isinstance(v, (dict, list))}
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())
