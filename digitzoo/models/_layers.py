"""Pieces every built-in model shares."""

from __future__ import annotations

__all__ = ["pixels_input", "classifier"]


def pixels_input(shape: tuple[int, ...] = (28, 28)):
    """Input of raw 0–255 pixels and its rescaling to 0–1 inside the model.

    Scaling inside the model means a saved model takes MNIST bytes as they are,
    so nothing outside it can forget or repeat the division.
    """
    import keras

    inputs = keras.Input(shape=shape, name="pixels")
    return inputs, keras.layers.Rescaling(1 / 255, name="scale")(inputs)


def classifier(x, name: str = "digits"):
    import keras

    return keras.layers.Dense(10, activation="softmax", name=name)(x)
