"""Which model a name means: the one place that decides, for predict, export, the web page and the CLI.

In the spirit of keras-hub's ``from_preset``, :func:`resolve` takes a zoo name (or a ``.keras``
file) and training options and answers with a :class:`ModelSource`: the model and where it came
from. In order: the user's trained model in the cache (``"cached"``: made on purpose, so it comes
first), the weights shipped with digitzoo (``"pretrained"``, only when no training option is given:
they were made with the default recipe and seed 0 on all of MNIST), or, when asked, a model
trained now (``"trained"``). Finding a model reads the cache's records and the weights' manifest
only; TensorFlow is imported when a Keras model is loaded, and training starts only on request.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .cache import ModelCache
from .contract import check_keras_archive, load_keras_file
from .errors import DigitzooError, ModelError, NoModelError
from .plan import TrainingPlan, plan_training
from .recipe import compile_model
from .registry import model_info
from .weights import best_pretrained, load_pretrained, shipped, weights_info

__all__ = [
    "SOURCES",
    "RUNTIMES",
    "TRAINING_OPTIONS",
    "ModelSource",
    "resolve",
    "cached",
    "available",
    "check_model_file",
    "load_model_file",
]

#: Where a model can come from.
SOURCES = ("cached", "pretrained", "trained", "file")
#: How a model can be run: ``auto`` is LiteRT for shipped weights when it is installed, else Keras.
RUNTIMES = ("auto", "keras", "litert")
#: The options of :func:`digitzoo.training.train` that choose which model is meant (and cached).
TRAINING_OPTIONS = (
    "epochs", "seed", "train_size", "batch_size", "learning_rate", "options", "data", "retrain", "deterministic",
)

Runtime = Literal["auto", "keras", "litert"]


@dataclass(frozen=True)
class ModelSource:
    """A model and where it came from.

    ``source`` is one of :data:`SOURCES`; ``runtime`` is ``"keras"`` or ``"litert"`` (the model is a
    :class:`digitzoo.litert.LiteModel`), ``None`` when it was not loaded. ``recipe`` and ``seed`` are
    the ones it was trained with, ``train_size`` the number of images it saw, ``test_accuracy`` a
    fraction in [0, 1] (on the test set it was trained beside; ``None`` for a file), ``file`` the file it was read from or
    saved to (``None`` for a model that was not cached), ``given`` the training options asked for.
    ``temperature`` calibrates its probabilities (:mod:`digitzoo.calibration`; 1 when it was not
    calibrated); :meth:`calibrated` is the model that applies it.
    """

    name: str
    model: Any = field(repr=False)
    source: str
    recipe: dict[str, Any]
    seed: int
    train_size: int
    test_accuracy: float | None
    file: str | None
    options: dict[str, Any] = field(default_factory=dict)
    given: dict[str, Any] = field(default_factory=dict)
    runtime: str | None = None
    temperature: float = 1.0

    def calibrated(self):
        """The model whose probabilities are calibrated (:class:`digitzoo.calibration.Calibrated`)."""
        from .calibration import Calibrated

        if self.model is None or self.temperature == 1.0:
            return self.model
        return Calibrated(self.model, self.temperature)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the model, as JSON-ready values."""
        out = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "model"}
        out["given"] = {k: _plain(v) for k, v in self.given.items()}
        return out


def resolve(
    name: str | None = None,
    *,
    file: str | os.PathLike | None = None,
    runtime: Runtime = "keras",
    train: bool = False,
    load: bool = True,
    callbacks: Sequence[Any] = (),
    cache: ModelCache | None = None,
    **training: Any,
) -> ModelSource:
    """The model ``name`` means with these ``training`` options (see the module's docstring).

    ``name=None`` is the most accurate shipped model; ``file`` a user's ``.keras`` file instead of
    a name. ``training`` takes :data:`TRAINING_OPTIONS`; ``retrain=True`` skips the cache. With
    ``train=True`` a model that is neither cached nor shipped is trained now (``callbacks`` go to
    ``fit``); otherwise that is a ``NoModelError``. ``load=False`` finds the model without loading
    it (``model`` is ``None``). ``cache`` other than the user's is for tests. Bad options raise
    ``DigitzooError`` before any work.
    """
    if runtime not in RUNTIMES:
        raise DigitzooError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    given = _given(training)
    if file is not None:
        return _from_file(file, load)
    if name is None:
        if given:
            raise DigitzooError("training options need a model name")
        return _shipped(best_pretrained(), runtime, load)
    model_info(name)  # an unknown name is an UnknownModelError before any work
    cache = cache if cache is not None else ModelCache()
    if (found := _lookup(name, cache, load, given)) is not None:
        return found
    if not given and name in shipped():
        return _shipped(name, runtime, load)
    if not train:
        raise NoModelError(_nothing_to_load(name, given))
    return _trained(name, given, callbacks, cache)


def cached(
    name: str, *, load: bool = False, cache: ModelCache | None = None, **training: Any
) -> ModelSource | None:
    """The user's model of ``name`` trained with these ``training`` options, from the cache, or ``None``.

    Never the shipped weights, never a training: whether ``train`` would reuse a model.
    """
    model_info(name)
    return _lookup(name, cache if cache is not None else ModelCache(), load, _given(training))


def _lookup(name: str, cache: ModelCache, load: bool, given: dict[str, Any]) -> ModelSource | None:
    if given.get("retrain"):  # asked for a new training: nothing cached stands for it
        return None
    plan = plan_training(name, **{k: v for k, v in given.items() if k != "retrain"})
    return _cached(cache, plan, load, given)


def available(name: str) -> bool:
    """Whether ``name`` reads digits without training: the user trained it (default recipe), or it ships.

    The cache is asked first, as :func:`resolve` does: a damaged entry of a shipped model is a
    ``CacheError`` here too.
    """
    try:
        resolve(name, load=False)
    except NoModelError:
        return False
    return True


def check_model_file(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` if it names a complete ``.keras`` archive; else ``ModelError`` saying why.

    Reads the archive's parts (:func:`digitzoo.contract.check_keras_archive`), no Keras: an empty,
    truncated or foreign file (a pickle, HDF5) fails at once, before any image is read.
    """
    path = Path(path)
    if path.suffix != ".keras":
        kind = f"a {path.suffix} file" if path.suffix else "a file without extension"
        raise ModelError(f"{path}: is {kind}; only Keras 3 model files (.keras) are read")
    try:
        return check_keras_archive(path)
    except FileNotFoundError:
        raise ModelError(f"{path}: no such file") from None


def load_model_file(path: str | os.PathLike):
    """A user's own Keras model from a ``.keras`` file, checked as any zoo model is.

    Only the ``.keras`` format is read (HDF5 ``.h5`` files and anything else are refused before
    reading), through :func:`digitzoo.contract.load_keras_file`, as cached models and the shipped
    weights are: ``safe_mode=True`` (the file cannot run code), and the model must take (28, 28)
    raw pixels (0–255) and output 10 probabilities; anything else raises ``ModelError``.
    """
    path = check_model_file(path)
    try:
        return load_keras_file(path, path.name)
    except FileNotFoundError:
        raise ModelError(f"{path}: no such file") from None


def _given(training: dict[str, Any]) -> dict[str, Any]:
    """The training options actually asked for: not ``None``, not ``retrain=False``, not empty ``options``."""
    unknown = sorted(set(training) - set(TRAINING_OPTIONS))
    if unknown:
        expected = ", ".join(TRAINING_OPTIONS)
        raise TypeError(f"unexpected training option(s): {', '.join(unknown)}; expected some of {expected}")
    return {k: v for k, v in training.items() if v is not None and v is not False and not (k == "options" and not v)}


def _cached(cache: ModelCache, plan: TrainingPlan, load: bool, given: dict[str, Any]) -> ModelSource | None:
    if load:
        # Sidecar and model read as one pair: another process may save between two separate reads.
        entry = cache.load_entry(plan.name, plan.key)
        meta, model = entry if entry is not None else (None, None)
    else:
        meta, model = cache.lookup(plan.name, plan.key), None
    if meta is None:
        return None
    if model is not None:
        # Compiled as training compiles it: the same model whichever way it came.
        model = compile_model(model, plan.recipe, meta["train_size"])
    return ModelSource(
        name=plan.name,
        model=model,
        source="cached",
        recipe=dict(meta["recipe"]),
        seed=meta["seed"],
        train_size=meta["train_size"],
        test_accuracy=meta["test_accuracy"],
        file=str(cache.root / meta["file"]),
        options=dict(meta["options"]),
        given=given,
        runtime="keras" if model is not None else None,
        temperature=float(meta.get("temperature", 1.0)),
    )


def _shipped(name: str, runtime: Runtime, load: bool) -> ModelSource:
    info = weights_info(name)
    run = _shipped_runtime(info, runtime) if load else None
    if run == "keras":
        from ._tensorflow import import_quietly

        import_quietly()
    return ModelSource(
        name=name,
        model=load_pretrained(name, runtime=run) if run else None,
        source="pretrained",
        recipe=dict(info.recipe),
        seed=info.seed,
        train_size=info.train_size,
        test_accuracy=info.test_accuracy,
        file=str(info.path),
        runtime=run,
        temperature=info.temperature,
    )


def _shipped_runtime(info: Any, runtime: Runtime) -> str:
    if runtime == "auto":
        from . import litert

        return "litert" if info.litert is not None and litert.available() else "keras"
    return runtime


def _trained(name: str, given: dict[str, Any], callbacks: Sequence[Any], cache: ModelCache) -> ModelSource:
    from .training import train

    result = train(name, load=True, callbacks=callbacks, cache=cache, **given)
    return ModelSource(
        name=result.name,
        model=result.model,
        source="trained",
        recipe=dict(result.recipe),
        seed=result.seed,
        train_size=result.train_size,
        test_accuracy=result.test_accuracy,
        file=result.model_path,
        options=dict(result.options),
        given=given,
        runtime="keras",
        temperature=result.temperature,
    )


def _from_file(file: str | os.PathLike, load: bool) -> ModelSource:
    path = check_model_file(file)
    return ModelSource(
        name=path.name,
        model=load_model_file(path) if load else None,
        source="file",
        recipe={},
        seed=0,
        train_size=0,
        test_accuracy=None,
        file=str(path),
        runtime="keras" if load else None,
    )


def _nothing_to_load(name: str, given: dict[str, Any]) -> str:
    if given:
        asked = ", ".join(f"{k}={v}" for k, v in given.items())
        return f"model {name} has no cached model trained with {asked}"
    return f"model {name} has neither a cached trained model nor shipped weights"


def _plain(value: Any) -> Any:
    """A training option as JSON can hold it: a path as text, arrays given as ``data`` as a word."""
    if isinstance(value, os.PathLike):
        return str(value)
    return "arrays" if isinstance(value, (tuple, list, np.ndarray)) else value
