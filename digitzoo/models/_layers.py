"""Pieces every built-in model shares."""

from __future__ import annotations

__all__ = ["pixels_input", "classifier", "space_to_depth"]


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


def space_to_depth(x, block: int = 2, name: str = "space_to_depth"):
    """(H, W, C) → (H/block, W/block, block·block·C): each block×block patch becomes one pixel.

    A 3×3 convolution on the result sees a 6×6 window at stride 2. On a CPU it trains several
    times faster than a convolution over the one-channel image, whose weight gradient is a long,
    thin matrix product that no kernel computes well. Only Reshape and Permute: nothing to learn,
    nothing custom to save.
    """
    from keras import layers

    h, w, c = x.shape[1:]
    x = layers.Reshape((h // block, block, w // block, block, c), name=f"{name}_split")(x)
    x = layers.Permute((1, 3, 2, 4, 5), name=f"{name}_gather")(x)
    return layers.Reshape((h // block, w // block, block * block * c), name=name)(x)
