"""The ``molgnn`` command: one module per verb, each with ``add_parser`` and ``run``.

An error molgnn raises on purpose (a ``molgnn.errors.MolgnnError``: bad input, unknown name,
unusable setting, missing file) is printed as one line naming it and the command exits with 2;
anything else is a bug and keeps its traceback. Ctrl-C ends with one line saying how to resume
(a verb's ``resume_hint(args)``) and exit code 130.

The verb modules import only the standard library at import time, and the library inside
``run``: help, argument errors and the quick verbs (``molgnn datasets``) answer without importing
torch, RDKit or pymatgen.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from molgnn import __version__
from molgnn.errors import MolgnnError

COMPUTING_VERBS = ("featurize", "train", "evaluate", "predict", "screen", "tune")  # they take --threads
VERBS = ("datasets", "models", "featurize", "train", "evaluate", "predict", "imbalance", "oversample", "screen", "tune",
         "campaign")
BUDGET_VARIABLE = "MOLGNN_THREADS"  # molgnn.cores.BUDGET_VARIABLE; the verbs import no library at import time
INTERRUPTED = 130  # the shell's code for a process ended by SIGINT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="molgnn", description="Graph neural networks for molecules and porous crystals.")
    parser.add_argument("--version", action="version", version=f"molgnn {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    modules = {name: importlib.import_module(f"molgnn.cli.{name}") for name in VERBS}
    for name, module in modules.items():
        module.add_parser(verbs, name)
        if name in COMPUTING_VERBS:
            verbs.choices[name].add_argument("--threads", type=int, metavar="N",
                                             help="cores of the job: worker processes plus torch threads "
                                                  "(default: the cores this process may use)")
    args = parser.parse_args(argv)
    module = modules[args.verb]
    threads = getattr(args, "threads", None)
    if threads is not None and threads < 1:
        parser.error(f"--threads: expected a whole number >= 1, got {threads}")
    budget = os.environ.get(BUDGET_VARIABLE)
    try:
        if threads is not None:
            os.environ[BUDGET_VARIABLE] = str(threads)  # molgnn.cores reads it, in this process and its children
        return module.run(args) or 0
    except MolgnnError as error:
        print(f"molgnn {args.verb}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = module.resume_hint(args) if hasattr(module, "resume_hint") else "nothing was kept"
        print(f"molgnn {args.verb}: interrupted; {hint}", file=sys.stderr)
        return INTERRUPTED
    finally:
        if budget is None:
            os.environ.pop(BUDGET_VARIABLE, None)
        else:
            os.environ[BUDGET_VARIABLE] = budget


if __name__ == "__main__":
    sys.exit(main())
