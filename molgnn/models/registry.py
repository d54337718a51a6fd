"""Model names -> classes with their variant settings."""

from __future__ import annotations

from torch import nn

from molgnn.errors import ConfigError, UnknownNameError
from molgnn.models.crystal import CrystalGNN
from molgnn.models.molecule import AttentiveFPModel, GINEModel, HybridModel

# name -> (class, fixed keyword arguments, input kind, needs a fingerprint)
MODELS: dict[str, tuple[type[nn.Module], dict, str, bool]] = {
    "cgcnn": (CrystalGNN, {}, "crystals", False),
    "edge": (CrystalGNN, {"edge_update": True}, "crystals", False),
    "attention": (CrystalGNN, {"attention": True}, "crystals", False),
    "charge": (CrystalGNN, {"charge": True}, "crystals", False),
    "edge_charge": (CrystalGNN, {"edge_update": True, "charge": True}, "crystals", False),
    "attention_charge": (CrystalGNN, {"attention": True, "charge": True}, "crystals", False),
    "edge_attention": (CrystalGNN, {"edge_update": True, "attention": True}, "crystals", False),
    "edge_attention_charge": (CrystalGNN, {"edge_update": True, "attention": True, "charge": True}, "crystals", False),
    "attentivefp": (AttentiveFPModel, {}, "molecules", False),
    "gine": (GINEModel, {}, "molecules", False),
    "hybrid": (HybridModel, {}, "molecules", True),
}


class UnknownModelError(UnknownNameError):
    """A model name that is not registered; the message lists the registered names."""


def model_entry(name: str) -> tuple[type[nn.Module], dict, str, bool]:
    if name not in MODELS:
        raise UnknownModelError(f"unknown model {name!r}; registered: {', '.join(MODELS)}")
    return MODELS[name]


def build_model(name: str, **kwargs) -> nn.Module:
    """Instantiate a registered model; ``kwargs`` are the class's arguments (dims, hidden sizes...)."""
    cls, fixed, _, _ = model_entry(name)
    clash = set(fixed) & set(kwargs)
    if clash:
        raise ConfigError(f"model {name!r} fixes {sorted(clash)}; choose another registered name instead")
    return cls(**fixed, **kwargs)
