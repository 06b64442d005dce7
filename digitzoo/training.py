"""Training a registered model with its recipe, evaluating it, and caching the result."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from .cache import ModelCache, cache_key
from .diagnosis import diagnose
from .errors import DigitzooError
from .recipe import compile_model
from .registry import build_model, model_info

__all__ = ["TrainResult", "train", "compare", "load_trained"]

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
_EVAL_BATCH = 1024


@dataclass
class TrainResult:
    """What one training run produced. Accuracies are fractions in [0, 1].

    ``train_accuracy`` and ``train_loss`` are measured after training, in inference mode, on
    every image the model was trained on — not the running average Keras reports during fit.
    """

    name: str
    params: int
    recipe: dict[str, Any]
    options: dict[str, Any]
    seed: int
    train_size: int
    test_size: int
    train_accuracy: float
    train_loss: float
    test_accuracy: float
    test_loss: float
    train_seconds: float
    history: dict[str, list[float]]
    data: str
    versions: dict[str, str]
    saved_at: str
    key: str = ""
    model_path: str | None = None
    reused: bool = False
    model: Any = field(default=None, repr=False, compare=False)

    @property
    def epochs(self) -> int:
        return int(self.recipe["epochs"])

    @property
    def gap(self) -> float:
        return self.train_accuracy - self.test_accuracy

    @property
    def diagnosis(self) -> str:
        return diagnose(self.train_accuracy, self.test_accuracy)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        out.update(epochs=self.epochs, gap=self.gap, diagnosis=self.diagnosis)
        return out

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> TrainResult:
        names = {f.name for f in dataclasses.fields(cls)} - {"model"}
        return cls(**{k: v for k, v in meta.items() if k in names})


def _versions() -> dict[str, str]:
    out = {}
    for package in ("digitzoo", "keras", "tensorflow", "numpy"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "unknown"
    return out


def _check_arrays(arrays: Arrays) -> None:
    try:
        (x, y), (xt, yt) = arrays
    except (TypeError, ValueError):
        raise DigitzooError("data must be a path or ((x_train, y_train), (x_test, y_test))") from None
    for images, labels, part in ((x, y, "train"), (xt, yt, "test")):
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels) or len(images) == 0:
            raise DigitzooError(
                f"{part} images must be (N, 28, 28) with N matching labels, got {images.shape} and {labels.shape}"
            )


def _load_data(data: str | Path | Arrays | None, train_size: int | None, seed: int) -> Arrays:
    from .data import load_mnist, stratified_subset

    arrays = load_mnist(data) if data is None or isinstance(data, (str, Path)) else data
    (x, y), test = arrays
    if train_size is not None and train_size > len(x):
        raise DigitzooError(f"train size {train_size} is larger than the {len(x)} training images available")
    if train_size is not None and train_size < len(x):
        x, y = stratified_subset(x, y, train_size, seed=seed)
    return (x, y), test


def _one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(10, dtype="uint8")[labels.astype(np.int64)]


def _builder_hash(builder: Any) -> str:
    """sha256 of the source of the module that defines ``builder``: edit a model, train it anew."""
    try:
        source = inspect.getsource(inspect.getmodule(builder))
    except (OSError, TypeError):
        return ""  # defined interactively: no source to hash
    return hashlib.sha256(source.encode()).hexdigest()


def _data_hash(data: Arrays | None) -> str:
    """The data hash without loading the data, so a cached model is found at once."""
    from .data import MNIST_FINGERPRINT, fingerprint

    if data is None:
        return MNIST_FINGERPRINT  # whatever load_mnist finds verifies to exactly MNIST
    _check_arrays(data)
    return fingerprint(data)


def train(
    name: str,
    *,
    epochs: int | None = None,
    seed: int = 0,
    train_size: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    options: dict[str, Any] | None = None,
    data: str | Path | Arrays | None = None,
    retrain: bool = False,
    cache: ModelCache | None = None,
    use_cache: bool = True,
    load: bool = True,
    callbacks: Sequence[Any] = (),
    only_cached: bool = False,
) -> TrainResult | None:
    """Train ``name`` with its registered recipe (any argument given overrides it).

    ``data`` is a path for :func:`digitzoo.data.load_mnist` (``None``: look in the usual places)
    or the arrays themselves. A run with the same model, recipe, options, seed and data as a
    cached one reuses that model unless ``retrain``; ``load=False`` then skips loading it.
    ``callbacks`` are Keras callbacks passed to ``fit`` (progress bars, early stopping …).
    ``only_cached=True`` returns the cached result or ``None``, never training.
    """
    spec = model_info(name)
    options = dict(options or {})
    try:
        recipe = spec.recipe.replace(
            epochs=epochs, train_size=train_size, batch_size=batch_size, learning_rate=learning_rate
        )
    except ValueError as exc:
        raise DigitzooError(str(exc)) from None
    if not isinstance(seed, int) or seed < 0:
        raise DigitzooError(f"seed must be a whole number >= 0, got {seed!r}")
    cache = cache if cache is not None else ModelCache()
    if isinstance(data, (str, Path)) or (data is None and os.environ.get("DIGITZOO_DATA")):
        # The user named a file: a wrong one is an error even when a cached model would do.
        from .data import load_mnist

        data = load_mnist(data)
    data_hash = _data_hash(data)
    key = cache_key(name, recipe.to_dict(), seed, data_hash, options, _builder_hash(spec.builder))
    model_path, _ = cache.paths(name, key)

    if use_cache and not retrain and (meta := cache.lookup(name, key)) is not None:
        result = TrainResult.from_dict(meta)
        result.reused, result.model_path = True, str(model_path)
        result.model = cache.load(name, key) if load else None
        return result
    if only_cached:
        return None

    (x, y), (xt, yt) = _load_data(data, recipe.train_size, seed)
    model, metrics = _fit_and_evaluate(name, recipe, options, seed, (x, y), (xt, yt), callbacks)
    result = TrainResult(
        name=name,
        params=int(model.count_params()),
        recipe=recipe.to_dict(),
        options=options,
        seed=seed,
        train_size=len(x),
        test_size=len(xt),
        data=data_hash,
        versions=_versions(),
        saved_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        key=key,
        model=model,
        **metrics,
    )
    if use_cache:
        cache.save(model, name, key, result.to_dict())
        result.model_path = str(model_path)
    return result


def _fit_and_evaluate(name, recipe, options, seed, train_set, test_set, callbacks) -> tuple[Any, dict[str, Any]]:
    import keras

    keras.utils.set_random_seed(seed)
    model = compile_model(build_model(name, compile=False, **options), recipe, len(train_set[0]))
    # The images stay uint8 (every model rescales inside itself): a float32 copy of the training
    # set would cost 4× the memory and bandwidth for the same values.
    (x, y), (xt, yt) = [(images, _one_hot(labels)) for images, labels in (train_set, test_set)]
    started = time.perf_counter()
    history = model.fit(
        x, y, batch_size=recipe.batch_size, epochs=recipe.epochs, shuffle=True, verbose=0, callbacks=list(callbacks)
    )
    seconds = time.perf_counter() - started
    train_loss, train_acc = model.evaluate(x, y, batch_size=_EVAL_BATCH, verbose=0)
    test_loss, test_acc = model.evaluate(xt, yt, batch_size=_EVAL_BATCH, verbose=0)
    return model, {
        "train_accuracy": float(train_acc),
        "train_loss": float(train_loss),
        "test_accuracy": float(test_acc),
        "test_loss": float(test_loss),
        "train_seconds": round(seconds, 3),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
    }


def compare(names: Sequence[str], *, data: str | Path | Arrays | None = None, **kwargs: Any) -> list[TrainResult]:
    """Train (or reuse) each model in turn with the same settings; results in the given order."""
    for name in names:
        model_info(name)  # fail on a typo before hours of training
    return [train(name, data=data, load=False, **kwargs) for name in names]


def load_trained(name: str, **kwargs: Any):
    """The trained Keras model for ``name`` (from the cache, training it first if needed)."""
    return train(name, load=True, **kwargs).model
