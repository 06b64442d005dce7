"""The model zoo: builders registered by name, with the metadata that describes them."""

from __future__ import annotations

import contextlib
import fnmatch
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import DigitzooError, ModelError, UnknownModelError
from .recipe import Recipe, compile_model
from .weights import WEIGHTS_TAG, WeightsInfo, shipped

__all__ = [
    "BEHAVIOURS",
    "ModelSpec",
    "register_model",
    "list_models",
    "model_info",
    "build_model",
    "check_model",
    "check_probabilities",
    "NUM_CLASSES",
    "IMAGE_SHAPE",
]

NUM_CLASSES = 10
#: The shape of one image as digitzoo trains and predicts on it: MNIST's, without a channel axis.
IMAGE_SHAPE = (28, 28)
# A probability row may sum to 1 only up to float32 rounding of its ten terms.
_SUM_TOLERANCE = 1e-3

BEHAVIOURS = ("underfits", "generalises", "overfits")
BUILTIN_SOURCE = "built-in"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its builder and what it is known to do."""

    name: str
    builder: Callable[..., Any] = field(repr=False)
    description: str
    params: int
    recipe: Recipe
    behaviour: str
    input_shape: tuple[int, ...] = IMAGE_SHAPE
    source: str = BUILTIN_SOURCE

    @property
    def pretrained(self) -> WeightsInfo | None:
        """The manifest entry of the weights shipped for this model, or ``None``: read, not loaded."""
        if self.source != BUILTIN_SOURCE:
            return None  # the package ships weights for its own models only
        return shipped().get(self.name)

    def to_dict(self) -> dict[str, Any]:
        weights = self.pretrained
        return {
            "name": self.name,
            "source": self.source,
            "params": self.params,
            "input_shape": list(self.input_shape),
            "behaviour": self.behaviour,
            "description": self.description,
            "recipe": self.recipe.to_dict(),
            "pretrained": None
            if weights is None
            else {
                "weights": WEIGHTS_TAG,
                "test_accuracy": weights.test_accuracy,
                "train_accuracy": weights.train_accuracy,
                "size": weights.size,
                "sha256": weights.sha256,
            },
        }


_REGISTRY: dict[str, ModelSpec] = {}
_source = BUILTIN_SOURCE


@contextlib.contextmanager
def registering_from(source: str) -> Iterator[list[str]]:
    """Attribute registrations inside the block to ``source``; yield the names registered.

    If the block raises, whatever it registered is removed again, so a broken plugin
    leaves no half-registered models behind.
    """
    global _source
    before, previous = set(_REGISTRY), _source
    added: list[str] = []
    _source = source
    try:
        yield added
    except BaseException:
        for name in set(_REGISTRY) - before:
            del _REGISTRY[name]
        raise
    finally:
        _source = previous
        added.extend(sorted(set(_REGISTRY) - before))


def register_model(
    name: str,
    *,
    description: str,
    params: int,
    recipe: Recipe,
    behaviour: str,
    input_shape: tuple[int, ...] = IMAGE_SHAPE,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated builder under ``name``.

    The builder takes keyword-only options and returns an uncompiled ``keras.Model`` that maps
    raw pixel values (0–255, shape ``input_shape``) to 10 class probabilities. ``params`` is its
    parameter count, recorded so that listing the zoo needs no Keras.
    """
    if not (isinstance(name, str) and _NAME.match(name)):
        raise ValueError(f"model name must be lowercase letters, digits, '.', '_' or '-', got {name!r}")
    if not (isinstance(description, str) and description.strip()):
        raise ValueError(f"model {name!r}: description must be a non-empty string")
    if not (isinstance(params, int) and params > 0):
        raise ValueError(f"model {name!r}: params must be a positive whole number, got {params!r}")
    if not isinstance(recipe, Recipe):
        raise TypeError(f"model {name!r}: recipe must be a digitzoo Recipe, got {type(recipe).__name__}")
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"model {name!r}: behaviour must be one of {', '.join(BEHAVIOURS)}, got {behaviour!r}")
    if not (isinstance(input_shape, (tuple, list)) and tuple(input_shape) == IMAGE_SHAPE):
        # Training and prediction feed (N, 28, 28) images; any other shape would fail inside Keras.
        raise ValueError(f"model {name!r}: input_shape must be {IMAGE_SHAPE}, the MNIST images, got {input_shape!r}")

    def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(builder):
            raise TypeError(f"model {name!r}: builder must be callable")
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered (by {_REGISTRY[name].source})")
        _REGISTRY[name] = ModelSpec(
            name=name,
            builder=builder,
            description=description.strip(),
            params=params,
            recipe=recipe,
            behaviour=behaviour,
            input_shape=tuple(input_shape),
            source=_source,
        )
        return builder

    return decorator


def _registry() -> dict[str, ModelSpec]:
    from .plugins import load_plugins

    load_plugins()
    return _REGISTRY


def list_models(pattern: str = "*", *, pretrained: bool = False) -> list[str]:
    """Sorted names of the registered models that match the ``fnmatch`` pattern.

    ``pretrained=True`` keeps those whose trained weights ship with digitzoo
    (``build_model(name, weights="mnist")``).
    """
    if not isinstance(pattern, str):
        raise DigitzooError(f"pattern must be a string such as 'mlp*', got {pattern!r}")
    registry = _registry()
    names = sorted(name for name in registry if fnmatch.fnmatchcase(name, pattern))
    return [name for name in names if registry[name].pretrained is not None] if pretrained else names


def model_info(name: str) -> ModelSpec:
    """The registered entry for ``name``; unknown names raise ``UnknownModelError``."""
    registry = _registry()
    try:
        return registry[name]
    except KeyError:
        import difflib  # only a typo pays for it

        close = difflib.get_close_matches(str(name), list(registry), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known models: {', '.join(sorted(registry))}"
        raise UnknownModelError(f"unknown model {name!r}{hint}") from None


def build_model(name: str, *, weights: str | None = None, compile: bool = True, **overrides: Any):
    """Build the model registered as ``name``.

    ``overrides`` may change the builder's own options and the fields of the recipe
    (``learning_rate=0.01``, ``epochs=3`` …). The model is compiled with the recipe unless
    ``compile=False``. A builder that fails, or builds something that does not map 28×28 pixels
    to 10 probabilities, raises ``ModelError`` naming the model and the plugin it comes from.

    ``weights="mnist"`` returns the model trained on MNIST that ships with digitzoo (its file
    checked against the manifest's sha256 first); ``None`` an untrained one. Only recipe fields may
    be overridden then: the builder's options would make another network than the one trained.
    """
    spec = model_info(name)
    if weights is not None:
        return _pretrained(spec, weights, compile, overrides)
    recipe_fields = set(Recipe.__dataclass_fields__)
    recipe_changes = {k: v for k, v in overrides.items() if k in recipe_fields}
    options = {k: v for k, v in overrides.items() if k not in recipe_fields}
    accepted = [
        p.name
        for p in inspect.signature(spec.builder).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    if unknown := sorted(set(options) - set(accepted)):
        raise DigitzooError(
            f"model {name!r} has no option {', '.join(unknown)}; "
            f"it accepts {', '.join(accepted + sorted(recipe_fields)) or 'none'}"
        )
    try:
        recipe = spec.recipe.replace(**recipe_changes)
    except ValueError as exc:
        raise DigitzooError(f"model {name!r}: {exc}") from None
    model = _run_builder(spec, options)
    _check_shapes(model, _label(spec), spec.input_shape)
    _check_probabilities(model, _label(spec), spec.input_shape)
    return compile_model(model, recipe) if compile else model


def _pretrained(spec: ModelSpec, weights: Any, compile: bool, overrides: dict[str, Any]):
    from .weights import load_pretrained

    if weights != WEIGHTS_TAG:
        raise DigitzooError(f"weights must be None (untrained) or {WEIGHTS_TAG!r}, got {weights!r}")
    if spec.pretrained is None:
        have = ", ".join(list_models(pretrained=True)) or "none"
        raise ModelError(f"{_label(spec)} has no pretrained weights; models with weights: {have}")
    recipe_fields = set(Recipe.__dataclass_fields__)
    if options := sorted(set(overrides) - recipe_fields):
        raise DigitzooError(
            f"model {spec.name!r} with pretrained weights takes no builder option ({', '.join(options)}); "
            "they would change the network that was trained"
        )
    try:
        recipe = spec.recipe.replace(**overrides)
    except ValueError as exc:
        raise DigitzooError(f"model {spec.name!r}: {exc}") from None
    model = load_pretrained(spec.name)
    return compile_model(model, recipe) if compile else model


def _label(spec: ModelSpec) -> str:
    """How messages name a model: with the distribution it comes from, unless built in."""
    return f"model {spec.name!r}" + ("" if spec.source == BUILTIN_SOURCE else f" (from {spec.source})")


def _run_builder(spec: ModelSpec, options: dict[str, Any]):
    from ._tensorflow import import_keras

    keras = import_keras()  # before the builder imports it, so TensorFlow's start-up lines stay off stderr

    try:
        # A builder's print() or model.summary() must not end up in output meant for a pipe.
        with contextlib.redirect_stdout(sys.stderr):
            model = spec.builder(**options)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a plugin's bug (even sys.exit()) fails its own model, nothing else
        raise ModelError(f"{_label(spec)}: its builder raised {_describe(exc)}") from exc
    if not isinstance(model, keras.Model):
        raise ModelError(f"{_label(spec)}: its builder returned {type(model).__name__}, not a keras.Model")
    return model


def _describe(exc: BaseException) -> str:
    """``Type: first line of the message``: a stranger's error as one line (Keras's run to dozens)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def check_model(model: Any, name: str, input_shape: tuple[int, ...] = IMAGE_SHAPE) -> None:
    """Refuse anything but a ``keras.Model`` from ``input_shape`` pixels to NUM_CLASSES outputs.

    The shapes are read from the model, nothing is run: a built model, a cached one and a
    user's file are all checked the same way before they are trained or trusted.
    """
    _check_shapes(model, f"model {name!r}", input_shape)


def check_probabilities(model: Any, name: str, input_shape: tuple[int, ...] = IMAGE_SHAPE) -> None:
    """Refuse a model whose outputs are not probabilities: it is run once on three fixed images.

    A model that ends in raw scores (``Dense(10)`` without softmax) trains without an error and
    learns nothing, since the loss reads its outputs as probabilities. The run costs about 30 ms
    the first time in a process and 7–20 ms after, draws no random numbers and changes no weights.
    Call it after :func:`check_model`.
    """
    _check_probabilities(model, f"model {name!r}", input_shape)


def _check_shapes(model: Any, label: str, input_shape: tuple[int, ...]) -> None:
    from ._tensorflow import import_keras

    keras = import_keras()

    if not isinstance(model, keras.Model):
        raise ModelError(f"{label} is a {type(model).__name__}, not a keras.Model")
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None  # a subclassed model that was never called has no shapes yet
    if not inputs or not outputs:
        raise ModelError(f"{label} has no defined input and output (start it with keras.Input(shape={input_shape}))")
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(f"{label} must have one input and one output, has {len(inputs)} and {len(outputs)}")
    got_in, got_out = tuple(inputs[0].shape[1:]), tuple(outputs[0].shape[1:])
    if got_in != tuple(input_shape):
        raise ModelError(f"{label} takes input of shape {_shape(got_in)}, expected {_shape(input_shape)}")
    if got_out != (NUM_CLASSES,):
        raise ModelError(f"{label} has output of shape {_shape(got_out)}, expected ({NUM_CLASSES},): one per digit")


def _check_probabilities(model: Any, label: str, input_shape: tuple[int, ...]) -> None:
    import keras
    import numpy as np

    try:
        rows = np.asarray(keras.ops.convert_to_numpy(model(_probe_images(input_shape), training=False)), np.float64)
    except Exception as exc:  # whatever a stranger's layer raises, the model is unusable
        raise ModelError(f"{label} fails on a batch of images: {_describe(exc)}") from exc
    if not np.isfinite(rows).all():
        raise ModelError(f"{label} outputs NaN or infinite values on plain images")
    sums = rows.sum(axis=1)
    if rows.min() < 0 or rows.max() > 1 or np.abs(sums - 1).max() > _SUM_TOLERANCE:
        raise ModelError(
            f"{label} outputs scores from {rows.min():.3g} to {rows.max():.3g} summing to "
            f"{sums.min():.3g}–{sums.max():.3g} per image, not probabilities: "
            'end it with a softmax, as in Dense(10, activation="softmax")'
        )


def _probe_images(shape: tuple[int, ...]):
    """Three images of raw 0–255 pixels: blank, a left-to-right ramp, and fixed noise."""
    import numpy as np

    blank = np.zeros(shape, np.float32)
    ramp = np.broadcast_to(np.linspace(0, 255, shape[-1], dtype=np.float32), shape)
    noise = np.random.default_rng(0).integers(0, 256, size=shape).astype(np.float32)  # no global seed touched
    return np.stack([blank, ramp, noise])


def _shape(shape: tuple[Any, ...]) -> str:
    dims = ["any" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
