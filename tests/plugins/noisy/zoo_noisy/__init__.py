"""A plugin that prints while it is imported and while it builds its model."""

import keras

from digitzoo import Recipe, register_model

print("zoo-noisy: imported")


@register_model("noisy", description="Prints its summary.", params=7850, recipe=Recipe(), behaviour="underfits")
def noisy():
    inputs = keras.Input((28, 28))
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    model.summary()
    return model
