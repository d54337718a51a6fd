"""``molgnn imbalance DATA``: label imbalance of a dataset (or one split of it): table, measures, figures."""

from __future__ import annotations

import json

from molgnn.cli.featurize import dataset_arguments, load_from_args
from molgnn.errors import ConfigError
from molgnn.train.config import SPLITS

PARTS = ("all", "train", "val", "test")


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="measure label imbalance (IRLbl, MeanIR, MaxIR, CVIR, SCUMBLE) of a dataset")
    dataset_arguments(parser)
    split_arguments(parser, default_part="all")
    parser.add_argument("--out", help="folder for the per-label table, co-occurrence and frequency figures")


def split_arguments(parser, default_part: str) -> None:
    """``--split``, ``--part`` and ``--seed``: which part of the dataset (the defaults of ``molgnn train``)."""
    parser.add_argument("--split", choices=SPLITS, default="random", help="how the dataset is split (default random)")
    parser.add_argument("--part", choices=PARTS, default=default_part, help=f"which part to use (default {default_part})")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default 0, as molgnn train)")


def dataset_part(args):
    """The dataset the arguments name, restricted to ``--part`` of its ``--split`` (as ``molgnn train`` splits it)."""
    import torch

    from molgnn.data.splits import make_split
    from molgnn.tasks import is_classification

    dataset = load_from_args(args)
    if not is_classification(dataset.task):
        raise ConfigError(f"dataset {args.data!r} is a {dataset.task} task: imbalance is measured on class labels")
    if args.part == "all":
        return dataset
    split = make_split(args.split, len(dataset), smiles=dataset.smiles, y=dataset.labels.numpy(), seed=args.seed)
    return dataset[torch.as_tensor(getattr(split, args.part))]


def run(args) -> int:
    from molgnn.imbalance import ImbalanceReport
    from molgnn.imbalance.report import write_reports

    dataset = dataset_part(args)
    report = ImbalanceReport.from_labels(dataset.labels.numpy(), dataset.targets)
    if args.out:
        write_reports({args.part: report}, args.out)
    if args.json:
        print(json.dumps({"data": args.data, "part": args.part, **report.to_dict()}))
        return 0
    table = report.table().sort_values("irlbl")
    print(table.to_string(float_format=lambda value: f"{value:.3g}"))
    for key, value in report.to_dict().items():
        print(f"{key:26s} {value:.4g}" if isinstance(value, float) else f"{key:26s} {value}")
    if args.out:
        print(f"report folder: {args.out}")
    return 0
