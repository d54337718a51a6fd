"""The registry of models: each name is a ``ModelSpec`` saying what the model is and what it needs.

A spec holds the class, the arguments its name fixes, the kind of graphs it reads and the
optional graph parts it requires (of ``molgnn.featurize.base.GRAPH_PARTS``). The sizes of the
model's inputs (``node_dim``, ``edge_dim``, ``fp_dim``, ``descriptor_dim``) come from the
featurizer and ``out_dim`` from the targets, so training and loading build any registered model
the same way, and a model that requires a part the featurizer does not add is refused with the
setting that adds it.

The crystal variants are the combinations of ``CRYSTAL_VARIANTS``, named by their parts in that
order (``edge_attention_charge``), ``cgcnn`` for none and ``cgcnn_descriptors`` for CGCNN with the
descriptor MLP alone: a new crystal variant is one entry there and its flag in ``CrystalGNN``. The
``*_descriptors`` variants are the hybrid crystal models (graph + global descriptors);
``descriptor_mlp`` is the same descriptors without a graph.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import nn

from molgnn.errors import ConfigError, UnknownNameError
from molgnn.featurize.base import CRYSTALS, GRAPH_PARTS, MOLECULES
from molgnn.models.crystal import CRYSTAL_SEARCH, DESCRIPTOR_MLP_SEARCH, CrystalGNN, DescriptorMLP
from molgnn.models.molecule import (
    ATTENTIVEFP_SEARCH,
    GINE_SEARCH,
    HYBRID_DESCRIPTORS_SEARCH,
    HYBRID_SEARCH,
    AttentiveFPModel,
    GINEModel,
    HybridModel,
)

# arguments a model is built with that come from the data: input sizes (the featurizer's graph_dims) and out_dim
DATA_ARGUMENTS = ("node_dim", "edge_dim", "fp_dim", "descriptor_dim", "out_dim")
# part of a crystal variant's name -> (the CrystalGNN flag it sets, the graph parts it requires, what it adds)
CRYSTAL_VARIANTS = {
    "edge": ("edge_update", frozenset(), "edge features updated at every layer"),
    "attention": ("attention", frozenset(), "multi-head attention over neighbours"),
    "charge": ("charge", frozenset({"charges"}), "embedded partial charges"),
    "descriptors": ("descriptors", frozenset({"descriptors"}), "an MLP over the global descriptors joined before the head"),
}


# how ``molgnn tune`` draws an argument: ("choice", values), ("int", low, high), ("float", low, high), ("log", low, high)
SEARCH_KINDS = ("choice", "int", "float", "log")
SearchSpace = Mapping[str, tuple]


class UnknownModelError(UnknownNameError):
    """A model name that is not registered; the message lists the registered names."""


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: ``cls`` built with ``fixed`` plus the data's and the user's arguments.

    Args:
        name: the registered name.
        cls: the ``nn.Module`` class.
        kind: the graphs it reads, ``"molecules"`` or ``"crystals"``.
        summary: one line on what it is.
        fixed: arguments of ``cls`` that the name decides (e.g. ``{"charge": True}``).
        requires: optional graph parts it reads (``"charges"``, ``"fingerprint"``, ``"descriptors"``).
        search_space: the arguments ``molgnn tune`` searches and their ranges (``SearchSpace``).
    """

    name: str
    cls: type[nn.Module]
    kind: str
    summary: str
    fixed: Mapping[str, object] = field(default_factory=dict)
    requires: frozenset[str] = frozenset()
    search_space: SearchSpace = field(default_factory=dict)

    def __post_init__(self):
        unknown = set(self.requires) - set(GRAPH_PARTS)
        if unknown:
            raise ConfigError(f"model {self.name!r} requires unknown graph parts {sorted(unknown)}; parts: {list(GRAPH_PARTS)}")
        self.check_arguments(self.search_space)
        bad = {name: space for name, space in self.search_space.items() if space[0] not in SEARCH_KINDS}
        if bad:
            raise ConfigError(f"model {self.name!r} has search ranges of unknown kinds {bad}; kinds: {SEARCH_KINDS}")

    def arguments(self) -> dict[str, object]:
        """The arguments a user may set (``model_args``), with their defaults."""
        return {name: parameter.default for name, parameter in inspect.signature(self.cls).parameters.items()
                if name not in self.fixed and name not in DATA_ARGUMENTS}

    def describe(self) -> dict:
        """What the spec is, JSON-ready: its class, kind, fixed settings, required parts, data arguments and
        the user's arguments with their defaults."""
        parameters = inspect.signature(self.cls).parameters
        return {"name": self.name, "summary": self.summary, "class": f"{self.cls.__module__}.{self.cls.__qualname__}",
                "kind": self.kind, "fixed": dict(self.fixed), "requires": sorted(self.requires),
                "data_arguments": [name for name in parameters if name in DATA_ARGUMENTS and name not in self.fixed],
                "arguments": self.arguments(),
                "search_space": {name: list(space) for name, space in self.search_space.items()}}

    def data_arguments(self, featurizer, out_dim: int, data: str = "the data") -> dict[str, int]:
        """The input sizes and ``out_dim`` of this model on ``featurizer``'s graphs.

        Raises ``ConfigError`` when the featurizer is of another kind or lacks a required part;
        ``data`` names the data in the message.
        """
        if featurizer.kind != self.kind:
            raise ConfigError(f"model {self.name!r} is for {self.kind}, but {data} holds {featurizer.kind}")
        missing = sorted(self.requires - featurizer.provides)
        if missing:
            hint = featurizer.hints.get(missing[0], f"{type(featurizer).__name__} cannot add them")
            raise ConfigError(f"model {self.name!r} needs {missing[0]} (data.{GRAPH_PARTS[missing[0]]}): {hint}")
        available = {**featurizer.graph_dims(), "out_dim": out_dim}
        return {name: available[name] for name in inspect.signature(self.cls).parameters
                if name in available and name not in self.fixed}

    def build(self, **kwargs) -> nn.Module:
        """The model with ``kwargs``: the data arguments and any of ``arguments()``."""
        clash = set(self.fixed) & set(kwargs)
        if clash:
            raise ConfigError(f"model {self.name!r} fixes {sorted(clash)}; choose another registered name instead")
        self.check_arguments(set(kwargs) - set(DATA_ARGUMENTS))
        return self.cls(**self.fixed, **kwargs)

    def check_arguments(self, names) -> None:
        """Raise ``ConfigError`` naming those of ``names`` that are not in ``arguments()``, and listing those."""
        unknown = sorted(set(names) - set(self.arguments()))
        if unknown:
            raise ConfigError(f"model {self.name!r} has no argument(s) {unknown}; its arguments: "
                              f"{', '.join(f'{k}={v!r}' for k, v in self.arguments().items())}")


def _crystal_specs() -> list[ModelSpec]:
    specs = []
    for count in range(len(CRYSTAL_VARIANTS) + 1):
        for parts in itertools.combinations(CRYSTAL_VARIANTS, count):
            flags = {flag: part in parts for part, (flag, _, _) in CRYSTAL_VARIANTS.items()}  # the name fixes every flag
            requires = frozenset().union(*(CRYSTAL_VARIANTS[part][1] for part in parts))
            adds = [CRYSTAL_VARIANTS[part][2] for part in parts]
            summary = " + ".join(["CGCNN" if adds else "CGCNN (Xie & Grossman 2018): gated convolution, mean pooling", *adds])
            name = "_".join(parts) or "cgcnn"
            specs.append(ModelSpec("cgcnn_descriptors" if name == "descriptors" else name, CrystalGNN, CRYSTALS, summary,
                                   flags, requires, CRYSTAL_SEARCH))
    return specs


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in [
    *_crystal_specs(),
    ModelSpec("descriptor_mlp", DescriptorMLP, CRYSTALS, "an MLP over the global descriptors alone (no graph): the "
              "baseline that shows what a hybrid's graph adds", requires=frozenset({"descriptors"}),
              search_space=DESCRIPTOR_MLP_SEARCH),
    ModelSpec("attentivefp", AttentiveFPModel, MOLECULES, "AttentiveFP (Xiong et al. 2020), torch_geometric's implementation",
              search_space=ATTENTIVEFP_SEARCH),
    ModelSpec("gine", GINEModel, MOLECULES, "GIN with edge features (Hu et al. 2020), a plain message-passing baseline",
              search_space=GINE_SEARCH),
    ModelSpec("hybrid", HybridModel, MOLECULES, "AttentiveFP graph embedding joined with an MLP over the Morgan fingerprint",
              {"descriptor_dim": 0}, frozenset({"fingerprint"}), HYBRID_SEARCH),
    ModelSpec("hybrid_descriptors", HybridModel, MOLECULES,
              "hybrid + an MLP over the molecule descriptors (RDKit 2D), normalized with training statistics",
              requires=frozenset({"fingerprint", "descriptors"}), search_space=HYBRID_DESCRIPTORS_SEARCH),
]}


def model_spec(name: str) -> ModelSpec:
    """The spec registered as ``name``; ``UnknownModelError`` lists the registered names."""
    if name not in MODELS:
        raise UnknownModelError(f"unknown model {name!r}; registered: {', '.join(MODELS)}")
    return MODELS[name]


def build_model(name: str, **kwargs) -> nn.Module:
    """Instantiate a registered model; ``kwargs`` are the class's arguments (input sizes, hidden sizes...)."""
    return model_spec(name).build(**kwargs)
