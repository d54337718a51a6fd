"""``molgnn evaluate RUN DATA``: metrics of a trained run on a dataset, as JSON."""

from __future__ import annotations

import json

from molgnn.cli.featurize import dataset_arguments, options_from_args


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="evaluate a run folder on a dataset (metrics JSON)")
    parser.add_argument("run_dir", help="run folder written by molgnn train")
    dataset_arguments(parser, featurizer_flags=False)
    parser.add_argument("--subset", choices=("all", "train", "val", "test"), default="all",
                        help="evaluate on a part of the run's own split (same dataset only)")
    parser.add_argument("--out", help="also write the metrics JSON here")


def run(args) -> int:
    from molgnn.data.build import load_dataset
    from molgnn.train.checkpoint import load_run
    from molgnn.train.evaluate import evaluate

    trained = load_run(args.run_dir)
    dataset = load_dataset(args.data, args.data_dir, trained.featurizer, options_from_args(args), args.cache_dir, args.workers,
                           progress=False, wait=args.cache_wait)
    indices = None
    if args.subset != "all":
        from molgnn.data.splits import Split

        indices = getattr(Split.from_dict(trained.info["split"], dataset.ids), args.subset)
    metrics = evaluate(trained, dataset, indices)
    metrics["rejected"] = len(dataset.rejects)
    text = json.dumps(metrics)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text)
    print(text)
    return 0
