"""``molgnn tune DATA --model NAME --out STUDY``: search hyper-parameters with Optuna; write the best config.

The study searches the model's declared search space and the learning rate, weight decay and
batch size (``molgnn.train.tune``) on the training and validation records of the config's split
(the test records stay out), prunes trials on their validation curves, runs ``--jobs`` trials at
a time in processes, and resumes from ``STUDY/study.db`` when started again. ``STUDY/best_config.json``
is a config for ``molgnn train --config``; every trial is a run folder in ``STUDY/trials/``.
"""

from __future__ import annotations

import json
from pathlib import Path

from molgnn.cli.featurize import dataset_arguments, load_from_args
from molgnn.cli.train import config_arguments, config_from_args


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="search hyper-parameters (Optuna) on validation; write the best config")
    dataset_arguments(parser)
    parser.add_argument("--out", required=True, help="study folder (a study there is resumed)")
    config_arguments(parser)
    parser.add_argument("--trials", type=int, default=20, help="finished trials the study should have (20)")
    parser.add_argument("--jobs", type=int, default=1, help="trials at a time, one process each (1)")
    parser.add_argument("--timeout", type=float, help="seconds after which no new trial starts")
    parser.add_argument("--sampler-seed", type=int, default=0, help="seed of the Optuna samplers (0)")
    parser.add_argument("--warmup-epochs", type=int, default=3, help="epochs before a trial can be pruned (3)")
    parser.add_argument("--repeats", type=int, default=1, help="splits of the training and validation records each trial "
                        "trains on; its score is their mean validation value (1)")


def run(args) -> int:
    from molgnn.train.tune import tune

    config = config_from_args(args)
    dataset = load_from_args(args)
    result = tune(dataset, Path(args.out), config, trials=args.trials, jobs=args.jobs, timeout=args.timeout,
                  seed=args.sampler_seed, warmup_epochs=args.warmup_epochs, progress=not args.json, repeats=args.repeats)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    counts = ", ".join(f"{count} {state}" for state, count in result.trials.items())
    print(f"trials: {counts}; best: trial {result.best_trial}, validation {result.monitor} {result.best_value:.4f}")
    print(f"best config: {result.best_config_path} (molgnn train ... --config {result.best_config_path})")
    return 0
