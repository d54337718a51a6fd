"""``molgnn models [NAME]``: the registered models, or one model's class, inputs and arguments with defaults."""

from __future__ import annotations

import json


def add_parser(verbs, name: str) -> None:
    parser = verbs.add_parser(name, help="list the registered models, or show one model's arguments and defaults")
    parser.add_argument("name", nargs="?", help="show this model in full (the arguments --model-args can set)")
    parser.add_argument("--json", action="store_true", help="print as JSON")


def run(args) -> int:
    from molgnn.models.registry import MODELS, model_spec

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
        print(json.dumps([spec.describe() for spec in MODELS.values()]))
        return 0
    rows = [("name", "kind", "requires", "summary")]
    rows += [(spec.name, spec.kind, ",".join(sorted(spec.requires)) or "-", spec.summary) for spec in MODELS.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[3]]))
    return 0
