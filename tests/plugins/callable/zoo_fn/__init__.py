"""A plugin whose entry points are functions: digitzoo hands each a ``register`` callable."""

from digitzoo import Recipe


def softmax():
    import keras

    inputs = keras.Input((28, 28))
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def register_models(register):
    register(softmax, name="softmax-fn", description="One Dense layer.", params=7850, recipe=Recipe(),
             behaviour="underfitting")


def register_then_fail(register):
    register(softmax, name="half-one", description="Registered before the failure.", params=7850,
             recipe=Recipe(), behaviour="underfitting")
    raise RuntimeError("gave up half-way")
