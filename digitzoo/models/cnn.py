"""Convolutional models: they keep the 2-D neighbourhood of pixels that an MLP flattens away."""

from __future__ import annotations

from ..recipe import Recipe
from ..registry import register_model
from ._layers import classifier, pixels_input

__all__ = ["lenet5", "cnn"]


@register_model(
    "lenet5",
    description="LeNet-5 as in the tutorial: Conv 6@5×5, AvgPool, Conv 16@5×5, AvgPool, Dense 120-84-10.",
    params=61706,
    recipe=Recipe(optimizer="sgd", learning_rate=0.05, batch_size=256, epochs=20),
    behaviour="generalises",
)
def lenet5(*, activation: str = "relu"):
    import keras
    from keras import layers

    inputs, x = pixels_input()
    x = layers.Reshape((28, 28, 1), name="channels")(x)
    # "same" padding stands in for LeNet's 32×32 input: 28×28 stays 28×28 after the first conv.
    x = layers.Conv2D(6, 5, padding="same", activation=activation, name="conv_1")(x)
    x = layers.AveragePooling2D(2, name="pool_1")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="conv_2")(x)
    x = layers.AveragePooling2D(2, name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation=activation, name="dense_1")(x)
    x = layers.Dense(84, activation=activation, name="dense_2")(x)
    return keras.Model(inputs, classifier(x), name="lenet5")


def _conv_block(x, filters: int, name: str):
    from keras import layers

    # BatchNorm makes a high learning rate safe, which is what lets three epochs suffice; its
    # moving statistics (momentum 0.9) catch up within a few dozen steps, so short runs work too.
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    x = layers.ReLU(name=f"{name}_relu")(x)
    return layers.MaxPooling2D(2, name=f"{name}_pool")(x)


@register_model(
    "cnn",
    description="Modern small CNN: three 3×3 conv blocks (32-64-128) with BatchNorm and max-pooling.",
    params=104874,
    recipe=Recipe(optimizer="adam", learning_rate=3e-3, batch_size=128, epochs=3, schedule="cosine"),
    behaviour="generalises",
)
def cnn(*, width: int = 32, dropout: float = 0.25):
    import keras
    from keras import layers

    inputs, x = pixels_input()
    x = layers.Reshape((28, 28, 1), name="channels")(x)
    for i, filters in enumerate((width, 2 * width, 4 * width), start=1):
        x = _conv_block(x, filters, f"block_{i}")
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(inputs, classifier(x), name="cnn")
