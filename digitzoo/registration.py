"""The store of registered models: each builder with what describes it, and how models get in.

This is the floor the zoo stands on. Built-in models and plugins register here, through
:func:`register_model` or the ``register`` callable that :func:`registering_from` hands out; it
imports nothing that reads the zoo, so :mod:`digitzoo.plugins` and :mod:`digitzoo.registry`
(the zoo as users read it: listing, looking up and building models) both stand above it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .contract import IMAGE_SHAPE
from .ensemble import Ensemble
from .diagnosis import DIAGNOSES, GENERALISES, OVERFITTING, UNDERFITTING
from .measured import RecipeAccuracy, recipe_accuracy
from .recipe import Recipe
from .weights.manifest import WEIGHTS_TAG, WeightsInfo, shipped

__all__ = [
    "BEHAVIOURS",
    "BUILTIN_SOURCE",
    "ModelSpec",
    "register_model",
    "registering_from",
    "registered",
    "unregister",
]

#: What a model is registered to demonstrate: the words a run's diagnosis uses.
BEHAVIOURS = DIAGNOSES
# Earlier words of the same three cases, still accepted from plugins written for them.
_BEHAVIOUR_ALIASES = {"underfits": UNDERFITTING, "generalises": GENERALISES, "overfits": OVERFITTING}
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
    #: Set for an ensemble: its members are this many models registered as that one (:mod:`digitzoo.ensemble`).
    ensemble: Ensemble | None = None

    @property
    def pretrained(self) -> WeightsInfo | None:
        """The manifest entry of the weights shipped for this model, or ``None``: read, not loaded."""
        if self.source != BUILTIN_SOURCE:
            return None  # the package ships weights for its own models only
        return shipped().get(self.name)

    @property
    def measured(self) -> RecipeAccuracy | None:
        """The default recipe's test accuracy over several seeds, as measured for a built-in model, or ``None``."""
        if self.source != BUILTIN_SOURCE:
            return None
        return recipe_accuracy(self.name, self.recipe, self.params)

    def to_dict(self) -> dict[str, Any]:
        weights = self.pretrained
        measured = self.measured
        return {
            "name": self.name,
            "source": self.source,
            "params": self.params,
            "input_shape": list(self.input_shape),
            "behaviour": self.behaviour,
            "description": self.description,
            "recipe": self.recipe.to_dict(),
            "measured": None if measured is None else measured.to_dict(),
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
def registering_from(source: str) -> Iterator[Callable[..., None]]:
    """Attribute registrations inside the block to ``source``; yield a ``register`` callable for them.

    ``register(builder, name=..., description=..., params=..., recipe=..., behaviour=...)`` is what
    a plugin's entry point is handed; ``@register_model`` inside the block does the same. If the
    block raises, whatever it registered is removed again, so a broken plugin leaves no
    half-registered models behind.
    """
    global _source
    before, previous = set(_REGISTRY), _source
    _source = source

    def register(builder: Callable[..., Any], **metadata: Any) -> None:
        register_model(**metadata)(builder)

    try:
        yield register
    except BaseException:
        for name in set(_REGISTRY) - before:
            del _REGISTRY[name]
        raise
    finally:
        _source = previous


def register_model(
    name: str,
    *,
    description: str,
    params: int,
    recipe: Recipe,
    behaviour: str,
    input_shape: tuple[int, ...] = IMAGE_SHAPE,
    ensemble: Ensemble | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated builder under ``name``.

    The builder takes keyword-only options and returns an uncompiled ``keras.Model`` that maps
    raw pixel values (0–255, shape ``input_shape``) to 10 class probabilities. ``params`` is its
    parameter count, recorded so that listing the zoo needs no Keras. ``ensemble``: the model is
    an ensemble of other registered models, trained each on its own (its ``recipe`` is theirs).
    """
    if not (isinstance(name, str) and _NAME.match(name)):
        raise ValueError(f"model name must be lowercase letters, digits, '.', '_' or '-', got {name!r}")
    if not (isinstance(description, str) and description.strip()):
        raise ValueError(f"model {name!r}: description must be a non-empty string")
    if not (isinstance(params, int) and params > 0):
        raise ValueError(f"model {name!r}: params must be a positive whole number, got {params!r}")
    if not isinstance(recipe, Recipe):
        raise TypeError(f"model {name!r}: recipe must be a digitzoo Recipe, got {type(recipe).__name__}")
    behaviour = _BEHAVIOUR_ALIASES.get(behaviour, behaviour) if isinstance(behaviour, str) else behaviour
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"model {name!r}: behaviour must be one of {', '.join(BEHAVIOURS)}, got {behaviour!r}")
    if ensemble is not None and not isinstance(ensemble, Ensemble):
        raise TypeError(f"model {name!r}: ensemble must be a digitzoo Ensemble, got {type(ensemble).__name__}")
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
            ensemble=ensemble,
        )
        return builder

    return decorator


def registered() -> dict[str, ModelSpec]:
    """The models registered so far, by name (plugins not yet loaded are not among them)."""
    return _REGISTRY


def unregister(name: str) -> None:
    """Remove ``name`` from the store (a plugin that is being unloaded; tests)."""
    _REGISTRY.pop(name, None)
