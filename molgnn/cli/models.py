"""``molgnn models [NAME]``: the shipped pretrained models and the model architectures, or one of them in full."""

from __future__ import annotations

import json


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="list the pretrained models and the model architectures, or show one")
    parser.add_argument("name", nargs="?", help="show this pretrained model (its card) or architecture (the "
                                                "arguments --model-args can set) in full")
    parser.add_argument("--json", action="store_true", help="print as JSON")


def run(args) -> int:
    from molgnn.models.registry import MODELS, model_spec
    from molgnn.train.pretrained import list_pretrained

    pretrained = {model.name: model for model in list_pretrained()}
    if args.name in pretrained:
        described = pretrained[args.name].describe()
        if args.json:
            print(json.dumps(described))
            return 0
        for key, value in described.items():
            print(f"{key}: {value}")
        print(f"card: {pretrained[args.name].path / 'README.md'}")
        return 0
    if args.name:
        described = model_spec(args.name).describe()
        if args.json:
            print(json.dumps(described))
            return 0
        for key in ("name", "summary", "class", "kind", "fixed", "requires", "data_arguments"):
            print(f"{key}: {described[key]}")
        print("arguments:")
        for argument, default in described["arguments"].items():
            print(f"  {argument} = {default!r}")
        return 0
    if args.json:
        print(json.dumps({"pretrained": [model.describe() for model in pretrained.values()],
                          "architectures": [spec.describe() for spec in MODELS.values()]}))
        return 0
    print("pretrained models (molgnn predict NAME INPUT, molgnn screen NAME LIBRARY):")
    _table([("name", "task", "targets", "test metrics", "size")] + [_pretrained_row(m.describe()) for m in pretrained.values()])
    print("\narchitectures (molgnn train --model NAME):")
    _table([("name", "kind", "requires", "summary")] +
           [(spec.name, spec.kind, ",".join(sorted(spec.requires)) or "-", spec.summary) for spec in MODELS.values()])
    return 0


def _pretrained_row(described: dict) -> tuple:
    targets = ", ".join(f"{t} [{u}]" if u else t for t, u in described["targets"].items())
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in described["metrics"].items())
    size = f"{described['size_bytes'] / 1e6:.1f} MB" if described["size_bytes"] else "-"
    return described["name"], described["task"] or "-", targets or "-", metrics or "-", size


def _table(rows: list[tuple]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[-1]]))
