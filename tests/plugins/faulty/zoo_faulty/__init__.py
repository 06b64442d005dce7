"""A plugin that loads, but whose builders fail or build models digitzoo cannot train."""

import keras

from digitzoo import Recipe, register_model


def _model(outputs, activation="softmax", shape=(28, 28)):
    inputs = keras.Input(shape)
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    return keras.Model(inputs, keras.layers.Dense(outputs, activation=activation)(x))


def _register(name):
    return register_model(name, description="Broken on purpose.", params=7850, recipe=Recipe(), behaviour="underfits")


@_register("raises")
def raises():
    raise ValueError("no weights for you\nand a second line of detail")


@_register("exits")
def exits():
    raise SystemExit(2)


@_register("not-a-model")
def not_a_model():
    return "a model, honestly"


@_register("three-classes")
def three_classes():
    return _model(3)


@_register("channels")
def channels():
    return _model(10, shape=(28, 28, 1))


@_register("raw-scores")
def raw_scores():
    return _model(10, activation=None)


@_register("sigmoid")
def sigmoid():
    return _model(10, activation="sigmoid")
