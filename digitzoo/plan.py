"""What a training request means before anything is trained: its recipe, options, seed, data and cache key.

Training (:func:`digitzoo.training.train`) and the resolver that finds a model without training
(:func:`digitzoo.zoo.resolve`) both start here, so a request names the same cache entry whichever
asks, and bad options are refused the same way before any work.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cache import cache_key
from .contract import IMAGE_SHAPE, NUM_CLASSES
from .errors import DigitzooError
from .provenance import code_fingerprint
from .recipe import MAX_SEED, Recipe, split_overrides
from .registry import model_info

__all__ = ["Arrays", "TrainingPlan", "plan_training", "check_arrays"]

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class TrainingPlan:
    """A training request made definite: the recipe with every change applied, the builder's own
    options, the seed, the data (``None``: MNIST wherever it is found; arrays once a named file was
    read), the data's hash and the cache key all of them give."""

    name: str
    recipe: Recipe
    options: dict[str, Any]
    seed: int
    data: Arrays | None
    data_hash: str
    key: str
    deterministic: bool = False


def plan_training(
    name: str,
    *,
    epochs: int | None = None,
    seed: int = 0,
    train_size: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    options: dict[str, Any] | None = None,
    data: str | os.PathLike | Arrays | None = None,
    deterministic: bool = False,
) -> TrainingPlan:
    """The plan for training ``name`` with these changes to its registered recipe; nothing is trained.

    ``deterministic`` asks for TensorFlow's deterministic ops: the same seed on the same machine then
    gives the same weights; it names a cache entry of its own.

    A named data file (or ``$DIGITZOO_DATA``) is read and verified now: a wrong one is an error even
    when a cached model would do. Raises ``UnknownModelError`` and ``DigitzooError``.
    """
    spec = model_info(name)
    recipe, options = _recipe_and_options(
        spec.recipe, options, epochs=epochs, train_size=train_size, batch_size=batch_size, learning_rate=learning_rate
    )
    if not (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED):
        raise DigitzooError(f"seed must be a whole number from 0 to {MAX_SEED} (2**32 - 1), got {seed!r}")
    if isinstance(data, (str, os.PathLike)) or (data is None and os.environ.get("DIGITZOO_DATA")):
        from .data import load_mnist

        data = load_mnist(data)
    if not isinstance(deterministic, bool):
        raise DigitzooError(f"deterministic must be True or False, got {deterministic!r}")
    data_hash = _data_hash(data)
    key = cache_key(name, recipe.to_dict(), seed, data_hash, options, code_fingerprint(spec.builder), deterministic)
    return TrainingPlan(name, recipe, options, seed, data, data_hash, key, deterministic)


def _recipe_and_options(
    registered: Recipe, options: dict[str, Any] | None, **overrides: Any
) -> tuple[Recipe, dict[str, Any]]:
    """The recipe with every change applied, and the builder's own options.

    A recipe field can come as an argument (``None``: unchanged) or inside ``options``, as
    ``build_model`` takes it; either way it changes the recipe. Two different values for one
    field are refused.
    """
    from_options, options = split_overrides(dict(options or {}))
    from_options = dict(sorted(from_options.items()))
    given = {k: v for k, v in overrides.items() if v is not None}
    for field_name in sorted(set(from_options) & set(given)):
        if from_options[field_name] != given[field_name]:
            raise DigitzooError(
                f"{field_name} is given twice, as {given[field_name]!r} and in options as "
                f"{from_options[field_name]!r}; give it once"
            )
    if not all(isinstance(k, str) for k in options):
        raise DigitzooError(f"option names must be strings, got {sorted(map(repr, options))}")
    try:
        json.dumps(options, allow_nan=False)  # the cache key and the sidecar record them as JSON
    except (TypeError, ValueError) as exc:
        raise DigitzooError(f"options must be finite numbers, strings, booleans or lists of them: {exc}") from None
    try:
        recipe = dataclasses.replace(registered, **from_options).replace(**given)
    except ValueError as exc:
        raise DigitzooError(str(exc)) from None
    return recipe, options


def check_arrays(arrays: Arrays) -> None:
    """Refuse training arrays that are not ``((x_train, y_train), (x_test, y_test))`` MNIST-style."""
    try:
        (x, y), (xt, yt) = arrays
    except (TypeError, ValueError):
        raise DigitzooError("data must be a path or ((x_train, y_train), (x_test, y_test))") from None
    for images, labels, part in ((x, y, "train"), (xt, yt, "test")):
        if not (isinstance(images, np.ndarray) and isinstance(labels, np.ndarray)):
            raise DigitzooError(f"{part} images and labels must be numpy arrays, got {type(images).__name__} and {type(labels).__name__}")
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE or len(images) != len(labels) or len(images) == 0:
            raise DigitzooError(
                f"{part} images must be (N, 28, 28) with N matching labels, got {images.shape} and {labels.shape}"
            )
        if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
            raise DigitzooError(f"{part} images must hold pixel values 0-255, got dtype {images.dtype}")
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise DigitzooError(f"{part} labels must be whole numbers 0-9 in shape (N,), got {labels.dtype} {labels.shape}")


def _data_hash(data: Arrays | None) -> str:
    """The data hash without loading the data, so a cached model is found at once."""
    from .data import MNIST_FINGERPRINT, fingerprint

    if data is None:
        return MNIST_FINGERPRINT  # whatever load_mnist finds verifies to exactly MNIST
    check_arrays(data)
    digest = fingerprint(data)
    # fingerprint hashes the bytes alone; the same bytes as int8 or float32 are other pixel values.
    dtypes = [str(array.dtype) for pair in data for array in pair]
    return digest if set(dtypes) == {"uint8"} else f"{digest}:{','.join(dtypes)}"

