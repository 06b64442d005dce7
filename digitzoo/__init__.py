"""digitzoo: handwritten-digit recognition with Keras.

Importing digitzoo is cheap: Keras and TensorFlow load only when a model is built or trained.
"""

from __future__ import annotations

from .diagnosis import diagnose
from .errors import CacheError, DataError, DigitzooError, ImageError, KernelError, UnknownModelError
from .recipe import Recipe
from .registry import ModelSpec, build_model, list_models, model_info, register_model

__all__ = [
    "CacheError",
    "DataError",
    "DigitzooError",
    "ImageError",
    "KernelError",
    "ModelSpec",
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
    "preprocess_digit",
    "read_digits",
    "segment_digits",
    "register_model",
    "train",
]


def __getattr__(name: str):
    # Loaded on first use so that `import digitzoo` does not pull in numpy-heavy modules.
    if name in ("train", "compare", "load_trained"):
        from . import training as _training

        return getattr(_training, name)
    if name in ("predict_digits", "read_digits"):
        from . import predict as _predict

        return getattr(_predict, name)
    if name in ("preprocess_digit", "segment_digits"):
        from .image import digits as _digits

        return getattr(_digits, name)
    if name == "load_mnist":
        from .data import load_mnist

        return load_mnist
    raise AttributeError(f"module 'digitzoo' has no attribute {name!r}")
