"""Whole models assembled from ``molgnn.nn`` layers, and the registry of model specs that names them."""

from molgnn.models.registry import MODELS, ModelSpec, build_model, model_spec

__all__ = ["MODELS", "ModelSpec", "build_model", "model_spec"]
