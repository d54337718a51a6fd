"""Defer ``torch._dynamo``, which torch_geometric imports eagerly, until something uses it.

torch itself imports its compiler stack (``torch._dynamo``) only on first use. torch_geometric
2.x imports it at import time (``torch_geometric.isinstance`` runs ``import torch._dynamo`` to
recognise compiled modules), which costs every process that imports molgnn's models about 1 s
of its start-up (importing torch and ``molgnn.screen`` takes 2.2 s instead of 3.2 s): a screen,
a prediction, each CLI command, each worker started with ``spawn``. No library offers a way
around that import, so ``defer_torch_dynamo`` puts a placeholder module in its place: the
import statement succeeds without running anything, and the first attribute anyone reads from
it (``torch.compile`` does, and so does the construction of a torch optimizer, hence every
training run) imports the real module, which then replaces the placeholder everywhere. Nothing
changes for code that uses the compiler; code that never does (featurizing, screening,
prediction) never pays for it.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

DEFERRED = "torch._dynamo"


class _DeferredModule(types.ModuleType):
    """Stands in for a module not yet imported; the first attribute read imports it and is answered by it."""

    def __getattr__(self, name: str):
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def defer_torch_dynamo() -> None:
    """Put the placeholder for ``torch._dynamo`` in ``sys.modules`` unless the module is already imported (or absent)."""
    if DEFERRED in sys.modules:
        return
    torch = importlib.util.find_spec("torch")  # finds the package without importing it
    if torch is None or not torch.submodule_search_locations:
        return
    source = Path(torch.submodule_search_locations[0], "_dynamo", "__init__.py")
    if not source.is_file():
        return
    placeholder = _DeferredModule(DEFERRED)
    # Read without importing: the spec tells the import system the module is not being imported
    # right now; the file is what introspection (``inspect.getmodule`` scans every module) asks for.
    placeholder.__spec__ = importlib.machinery.ModuleSpec(DEFERRED, None, origin=str(source))
    placeholder.__file__ = str(source)
    sys.modules[DEFERRED] = placeholder


def is_deferred(name: str = DEFERRED) -> bool:
    """Whether ``name`` is still the placeholder (nothing has used it yet)."""
    return isinstance(sys.modules.get(name), _DeferredModule)
