"""Whole models assembled from ``molgnn.nn`` layers, and the registry that names them."""

from molgnn.models.registry import MODELS, build_model

__all__ = ["MODELS", "build_model"]
