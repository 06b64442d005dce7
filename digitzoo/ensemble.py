"""Ensembles: several models of one recipe, trained with different seeds, averaged.

Models trained alike from different random starts make different mistakes; the average of their
probabilities makes fewer. An ensemble in the zoo is registered like any model, with
:class:`Ensemble` saying which model its members are and how many: training it trains (or reuses
from the cache) each member with its own seed — ``seed``, ``seed + 1`` … — and assembles them into
one Keras model that averages the members' **calibrated** probabilities (each member's temperature
is part of the graph, :mod:`digitzoo.calibration`). That model is cached, calibrated, exported and
read with like every other: one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Ensemble", "assemble", "member_seeds"]


@dataclass(frozen=True)
class Ensemble:
    """An ensemble of ``size`` models registered as ``member``."""

    member: str
    size: int

    def __post_init__(self) -> None:
        if not (isinstance(self.size, int) and self.size >= 2):
            raise ValueError(f"an ensemble needs at least 2 members, got {self.size!r}")


def member_seeds(ensemble: Ensemble, seed: int) -> list[int]:
    """The members' seeds for an ensemble trained with ``seed``: ``seed``, ``seed + 1`` …"""
    return [seed + i for i in range(ensemble.size)]


def assemble(members: list[Any], temperatures: list[float], *, name: str):
    """One Keras model: each member's logits divided by its temperature, softmax, then the average.

    ``members`` are Keras models that end in a softmax layer named ``digits`` (every zoo model);
    each is copied with that layer's weights and no softmax, so only built-in layers are saved.
    """
    import keras

    if len(members) != len(temperatures) or len(members) < 2:
        raise ValueError(f"need one temperature per member and at least 2 members, got {len(members)} and {len(temperatures)}")
    inputs = keras.Input((28, 28), name="pixels")
    probabilities = []
    for i, (model, temperature) in enumerate(zip(members, temperatures)):
        probabilities.append(_calibrated_member(model, temperature, f"member_{i}")(inputs))
    outputs = keras.layers.Average(name="digits")(probabilities)
    return keras.Model(inputs, outputs, name=name)


def _calibrated_member(model: Any, temperature: float, name: str):
    import keras

    top = model.get_layer("digits")
    features = keras.Model(model.inputs, top.input, name=f"{name}_features")
    pixels = keras.Input((28, 28), name=f"{name}_pixels")
    logits = keras.layers.Dense(10, name=f"{name}_logits")
    z = logits(features(pixels))
    logits.set_weights(top.get_weights())
    z = keras.layers.Rescaling(1.0 / float(temperature), name=f"{name}_temperature")(z)
    return keras.Model(pixels, keras.layers.Softmax(name=f"{name}_probabilities")(z), name=name)
