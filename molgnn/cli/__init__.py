"""The ``molgnn`` command: one module per verb, each with ``add_parser`` and ``run``.

An error molgnn raises on purpose (a ``molgnn.errors.MolgnnError``: bad input, unknown name,
unusable setting, missing file) is printed as one line naming it and the command exits with 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys

from molgnn import __version__
from molgnn.cli import datasets, evaluate, featurize, imbalance, models, oversample, predict, screen, train, tune
from molgnn.errors import MolgnnError

VERBS = {"datasets": datasets, "models": models, "featurize": featurize, "train": train, "evaluate": evaluate,
         "predict": predict, "imbalance": imbalance, "oversample": oversample, "screen": screen, "tune": tune}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="molgnn", description="Graph neural networks for molecules and porous crystals.")
    parser.add_argument("--version", action="version", version=f"molgnn {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name, module in VERBS.items():
        module.add_parser(verbs, name)
    args = parser.parse_args(argv)
    try:
        return VERBS[args.verb].run(args) or 0
    except MolgnnError as error:
        print(f"molgnn {args.verb}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
