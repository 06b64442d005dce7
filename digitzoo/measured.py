"""Each built-in recipe's test accuracy over several seeds: data, read without Keras.

One training run is a sample, not a property of its recipe (the same seed gives different
accuracies on different machines), so what the zoo states for a recipe is a mean over seeds with
its spread. ``measured.json`` holds, for each built-in model, the statistics of
:func:`digitzoo.experiments.compare_seeds` over its seeds with the recipe and parameter count they
were measured with, the date and the library versions. ``tools/measure_recipes.py`` (``make
measure``) writes it. An entry whose recipe or parameter count no longer matches the model is not
shown: the recipe changed and its figure has to be measured again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .recipe import Recipe

__all__ = ["MEASURED_FILE", "RecipeAccuracy", "recipe_accuracy"]

MEASURED_FILE = Path(__file__).resolve().with_name("measured.json")


@dataclass(frozen=True)
class RecipeAccuracy:
    """A recipe's accuracies over ``seeds`` (fractions in [0, 1]) and its mean training seconds."""

    seeds: tuple[int, ...]
    test_accuracy_mean: float
    test_accuracy_std: float
    test_accuracy_min: float
    test_accuracy_max: float
    train_accuracy_mean: float
    seconds_per_run: float
    date: str

    def summary(self) -> str:
        """``"97.67% ± 0.09 (5 seeds)"``: the spread is the standard deviation, in points."""
        return f"{self.test_accuracy_mean:.2%} ± {100 * self.test_accuracy_std:.2f} ({len(self.seeds)} seeds)"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seeds": list(self.seeds)}


@lru_cache(maxsize=1)
def _entries() -> dict[str, dict[str, Any]]:
    try:
        return json.loads(MEASURED_FILE.read_text())["models"]
    except (OSError, ValueError, KeyError):  # no file (a stripped install) or a damaged one: no figures
        return {}


def recipe_accuracy(name: str, recipe: Recipe, params: int) -> RecipeAccuracy | None:
    """The measured accuracy of model ``name`` trained with ``recipe``, or ``None`` if none was measured."""
    entry = _entries().get(name)
    if entry is None or entry.get("recipe") != recipe.to_dict() or entry.get("params") != params:
        return None
    fields = {k: entry[k] for k in RecipeAccuracy.__dataclass_fields__}
    return RecipeAccuracy(**{**fields, "seeds": tuple(fields["seeds"])})
