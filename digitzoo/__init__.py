"""digitzoo: handwritten-digit recognition with Keras.

Importing digitzoo is cheap: every public name below is imported from its module on first use,
and Keras and TensorFlow load only when a model is built, trained or run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import CacheError, DataError, DigitzooError, ImageError, KernelError, UnknownModelError

if TYPE_CHECKING:
    from .data import load_mnist
    from .diagnosis import diagnose
    from .image.digits import preprocess_digit, segment_digits
    from .inference import Predictor, predict_proba
    from .predict import predict_digits, read_digits
    from .recipe import Recipe
    from .registry import ModelSpec, build_model, list_models, model_info, register_model
    from .training import compare, load_trained, train

__all__ = [
    "CacheError",
    "DataError",
    "DigitzooError",
    "ImageError",
    "KernelError",
    "ModelSpec",
    "Predictor",
    "Recipe",
    "UnknownModelError",
    "build_model",
    "compare",
    "diagnose",
    "list_models",
    "load_mnist",
    "load_trained",
    "model_info",
    "predict_digits",
    "predict_proba",
    "preprocess_digit",
    "read_digits",
    "segment_digits",
    "register_model",
    "train",
]

# Public name -> the module that defines it. Even the registry waits: `digitzoo kernels` imports
# digitzoo.errors, and with it this file, and has no use for the zoo.
_LAZY = {
    "diagnose": ".diagnosis",
    "Recipe": ".recipe",
    "ModelSpec": ".registry",
    "build_model": ".registry",
    "list_models": ".registry",
    "model_info": ".registry",
    "register_model": ".registry",
    "train": ".training",
    "compare": ".training",
    "load_trained": ".training",
    "predict_digits": ".predict",
    "read_digits": ".predict",
    "preprocess_digit": ".image.digits",
    "segment_digits": ".image.digits",
    "load_mnist": ".data",
    "Predictor": ".inference",
    "predict_proba": ".inference",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'digitzoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
