"""Training recipes: how a registered model is compiled and trained by default."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Recipe", "MAX_SEED", "RECIPE_FIELDS", "split_overrides", "OPTIMIZERS", "SCHEDULES", "STEPS_PER_EXECUTION", "compile_model", "steps_per_execution"]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine")
MNIST_TRAIN_SIZE = 60_000
#: The largest seed: NumPy's global generator, which Keras seeds, takes 32 bits.
MAX_SEED = 2**32 - 1
# Optimizer steps run per call into TensorFlow. One call per step spends a third of an MLP
# epoch in Python; this many per call leaves the time to the maths. Callbacks then see every
# STEPS_PER_EXECUTION-th batch. The weights are the same as with one step per call.
STEPS_PER_EXECUTION = 32


@dataclass(frozen=True)
class Recipe:
    """The default training recipe of a model.

    ``train_size`` is the number of training images (a stratified subset of MNIST's 60 000),
    ``None`` for all of them. ``schedule="cosine"`` warms up over the first tenth of the steps,
    then decays the learning rate to zero by the last step. ``jit_compile`` compiles the
    training step with XLA: on a CPU it makes dense networks train about twice as fast after a
    second or two of compiling, and convolutional ones slower, so it is the recipe's choice.
    ``beta_1`` and ``beta_2`` are Adam's (and AdamW's) decay rates of its moment estimates.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 128
    epochs: int = 10
    train_size: int | None = None
    schedule: str = "constant"
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    jit_compile: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        # An infinite learning rate trains to NaN, and NaN is no number JSON can record.
        if not (_is_number(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, not NaN or infinity, got {self.learning_rate!r}")
        for field in ("batch_size", "epochs"):
            value = getattr(self, field)
            if not (_is_whole(value) and value >= 1):
                raise ValueError(f"{field} must be a whole number >= 1, got {value!r}")
        if self.train_size is not None and not (_is_whole(self.train_size) and 1 <= self.train_size <= MNIST_TRAIN_SIZE):
            raise ValueError(
                f"train_size must be a whole number from 1 to {MNIST_TRAIN_SIZE}, got {self.train_size!r}"
            )
        if not (_is_number(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        if not isinstance(self.jit_compile, bool):
            raise ValueError(f"jit_compile must be True or False, got {self.jit_compile!r}")
        if not (_is_number(self.label_smoothing) and 0 <= self.label_smoothing < 1):
            raise ValueError(f"label_smoothing must be from 0 up to 1, got {self.label_smoothing!r}")
        for field in ("beta_1", "beta_2"):
            value = getattr(self, field)
            if not (_is_number(value) and 0 <= value < 1):
                raise ValueError(f"{field} must be from 0 up to 1, got {value!r}")

    def replace(self, **changes: Any) -> Recipe:
        """A copy with ``changes`` applied; ``None`` values leave a field as it is."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown recipe field(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for added in _ADDED_LATER:
            if out[added] == _DEFAULTS[added]:
                del out[added]  # recipes that keep its default keep the cache keys they had
        return out

    def steps_per_epoch(self, n_train: int | None = None) -> int:
        """Optimizer steps of one epoch on ``n_train`` images."""
        return math.ceil((n_train or self.train_size or MNIST_TRAIN_SIZE) / self.batch_size)

    def steps(self, n_train: int | None = None) -> int:
        """Optimizer steps of a whole run on ``n_train`` images."""
        return self.epochs * self.steps_per_epoch(n_train)

    def summary(self) -> str:
        size = f"{self.train_size} imgs" if self.train_size else "all"
        lr = f"{self.learning_rate:g}" + (" cosine" if self.schedule == "cosine" else "")
        smoothing = f", smoothing {self.label_smoothing:g}" if self.label_smoothing else ""
        xla = ", XLA" if self.jit_compile else ""
        default_betas = (_DEFAULTS["beta_1"], _DEFAULTS["beta_2"])
        betas = "" if (self.beta_1, self.beta_2) == default_betas else f" β {self.beta_1:g}/{self.beta_2:g}"
        return f"{self.optimizer}{betas} lr {lr}, batch {self.batch_size}, {self.epochs} ep, {size}{smoothing}{xla}"


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Recipe)}
#: Fields added after the first cache keys: left out of ``to_dict`` at their default.
_ADDED_LATER = ("label_smoothing", "jit_compile", "beta_1", "beta_2")


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # True is an int to Python


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def steps_per_execution(recipe: Recipe, n_train: int | None = None) -> int:
    """Steps per call into TensorFlow: STEPS_PER_EXECUTION, or one epoch's worth if fewer."""
    return min(STEPS_PER_EXECUTION, recipe.steps_per_epoch(n_train))


def compile_model(model, recipe: Recipe, n_train: int | None = None):
    """Compile ``model`` with the recipe's optimizer and categorical cross-entropy.

    This is all digitzoo does to a model before ``fit``: the same call in plain Keras trains at
    the same speed.
    """
    import keras

    lr: Any = recipe.learning_rate
    if recipe.schedule == "cosine":
        steps = recipe.steps(n_train)
        warmup = max(1, steps // 10)
        lr = keras.optimizers.schedules.CosineDecay(
            0.0, max(1, steps - warmup), warmup_target=recipe.learning_rate, warmup_steps=warmup
        )
    if recipe.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=lr)
    elif recipe.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(
            learning_rate=lr, weight_decay=recipe.weight_decay, beta_1=recipe.beta_1, beta_2=recipe.beta_2
        )
    else:
        optimizer = keras.optimizers.Adam(learning_rate=lr, beta_1=recipe.beta_1, beta_2=recipe.beta_2)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution(recipe, n_train),
        jit_compile=recipe.jit_compile,
    )
    return model


#: The names of a recipe's fields: overrides of these change the recipe, any other is a builder option.
RECIPE_FIELDS = frozenset(f.name for f in dataclasses.fields(Recipe))


def split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(recipe changes, builder options)``: the keyword arguments that name a recipe field, and the rest."""
    return (
        {k: v for k, v in overrides.items() if k in RECIPE_FIELDS},
        {k: v for k, v in overrides.items() if k not in RECIPE_FIELDS},
    )
