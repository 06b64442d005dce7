"""The model zoo as users read it: list, look up and build the registered models.

The first read loads the plugins (:mod:`digitzoo.plugins`), which register through
:mod:`digitzoo.registration` beside the built-in models; everything here sees all of them.
"""

from __future__ import annotations

import contextlib
import fnmatch
import inspect
import sys
from typing import Any

from .contract import IMAGE_SHAPE, NUM_CLASSES, check_model, check_outputs, check_probabilities, check_shapes
from .errors import DigitzooError, ModelError, UnknownModelError, describe_exception
from .plugins import load_plugins
from .recipe import RECIPE_FIELDS, compile_model, split_overrides
from .registration import BEHAVIOURS, BUILTIN_SOURCE, ModelSpec, register_model, registered
from .weights.manifest import WEIGHTS_TAG

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


def _registry() -> dict[str, ModelSpec]:
    load_plugins()
    return registered()


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
    recipe_changes, options = split_overrides(overrides)
    accepted = [
        p.name
        for p in inspect.signature(spec.builder).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    if unknown := sorted(set(options) - set(accepted)):
        raise DigitzooError(
            f"model {name!r} has no option {', '.join(unknown)}; "
            f"it accepts {', '.join(accepted + sorted(RECIPE_FIELDS)) or 'none'}"
        )
    try:
        recipe = spec.recipe.replace(**recipe_changes)
    except ValueError as exc:
        raise DigitzooError(f"model {name!r}: {exc}") from None
    model = _run_builder(spec, options)
    check_shapes(model, _label(spec), spec.input_shape)
    check_outputs(model, _label(spec), spec.input_shape)
    return compile_model(model, recipe) if compile else model


def _pretrained(spec: ModelSpec, weights: Any, compile: bool, overrides: dict[str, Any]):
    from .weights import load_pretrained

    if weights != WEIGHTS_TAG:
        raise DigitzooError(f"weights must be None (untrained) or {WEIGHTS_TAG!r}, got {weights!r}")
    if spec.pretrained is None:
        have = ", ".join(list_models(pretrained=True)) or "none"
        raise ModelError(f"{_label(spec)} has no pretrained weights; models with weights: {have}")
    if options := sorted(split_overrides(overrides)[1]):
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
        raise ModelError(f"{_label(spec)}: its builder raised {describe_exception(exc)}") from exc
    if not isinstance(model, keras.Model):
        raise ModelError(f"{_label(spec)}: its builder returned {type(model).__name__}, not a keras.Model")
    return model


def _describe(exc: BaseException) -> str:
    """``Type: first line of the message``: a stranger's error as one line (Keras's run to dozens)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
