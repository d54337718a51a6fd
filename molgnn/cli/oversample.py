"""``molgnn oversample DATA --method NAME --out DIR``: write the oversampled training split and its imbalance before/after.

``DIR/train.csv`` holds one row per training sample (originals, then the added ones): ``id``,
``smiles``, ``origin`` (original, clone or synthetic), ``parent`` and ``partner`` (the ids it was
built from; see ``molgnn.data.oversample``), ``weight`` and the labels (empty where missing). It
is a plain labelled SMILES file that any tool can train on. ``DIR`` also receives the imbalance
report of the training split before and after (``molgnn.imbalance.report``).
"""

from __future__ import annotations

import json
from pathlib import Path

from molgnn.cli.featurize import dataset_arguments
from molgnn.cli.imbalance import dataset_part, split_arguments


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="oversample a training split and report its imbalance before and after")
    dataset_arguments(parser)
    split_arguments(parser, default_part="train")
    parser.add_argument("--method", default="cooccurrence",
                        help="oversampler: ml-ros, mlsmote, or molgnn's own, cooccurrence (the default)")
    parser.add_argument("--budget", type=float, default=0.25, help="samples to add, as a fraction of the split (0.25)")
    parser.add_argument("--out", required=True, help="folder for train.csv and the imbalance report")


def run(args) -> int:
    import numpy as np
    import pandas as pd

    from molgnn.data.oversample import oversample_dataset
    from molgnn.imbalance import make_oversampler
    from molgnn.imbalance.report import write_reports

    oversampler = make_oversampler(args.method, budget=args.budget, seed=args.seed)  # an unknown name is refused here
    if "fingerprint" in oversampler.requires and not args.fingerprint_bits:
        args.fingerprint_bits = 2048  # the oversampler finds neighbours and interpolates on fingerprints
    train = dataset_part(args)
    oversampled = oversample_dataset(train, oversampler)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ids = np.asarray(train.ids, dtype=object)
    frame = pd.DataFrame({"id": oversampled.dataset.ids, "smiles": oversampled.dataset.smiles, "origin": oversampled.origin,
                          "parent": ids[oversampled.parent],
                          "partner": np.where(oversampled.partner >= 0, ids[np.maximum(oversampled.partner, 0)], ""),
                          "weight": oversampled.weight.round(6)})
    labels = pd.DataFrame(oversampled.dataset.labels.numpy(), columns=train.targets)
    pd.concat([frame, labels], axis=1).to_csv(out / "train.csv", index=False)
    write_reports({"before": oversampled.before, "after": oversampled.after}, out)
    summary = {"data": args.data, "part": args.part, **oversampled.summary(), "out": str(out)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{oversampled.oversampler}: added {oversampled.added} to {len(train)} training samples "
          f"({summary['clones']} clones, {summary['synthetic']} synthetic)")
    for key in ("mean_ir", "max_ir", "cvir", "mean_scumble"):
        print(f"{key:14s} {summary['before'][key]:.4g} -> {summary['after'][key]:.4g}")
    print(f"written: {out / 'train.csv'}, {out / 'imbalance.md'}")
    return 0
