"""A third-party plugin, as the README shows one: one extra model, Keras imported only to build it."""

from digitzoo import Recipe, register_model


@register_model(
    "softmax",
    description="Multinomial logistic regression: one Dense layer on the raw pixels.",
    params=7850,
    recipe=Recipe(optimizer="sgd", learning_rate=0.1, batch_size=128, epochs=3),
    behaviour="underfitting",
)
def softmax():
    import keras

    inputs = keras.Input((28, 28))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
