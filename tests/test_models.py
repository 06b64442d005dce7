"""Every registered model builds, matches its recorded metadata and classifies raw pixels."""

from __future__ import annotations

import numpy as np
import pytest

from digitzoo import build_model, list_models, model_info


@pytest.mark.parametrize("name", list_models())
def test_model_builds_and_runs_a_forward_pass(name):
    spec = model_info(name)
    model = build_model(name)
    assert model.count_params() == spec.params
    assert tuple(model.input_shape[1:]) == spec.input_shape
    pixels = np.random.default_rng(0).integers(0, 256, size=(4, *spec.input_shape)).astype("float32")
    probs = np.asarray(model(pixels))
    assert probs.shape == (4, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert model.optimizer is not None and model.loss.name == "categorical_crossentropy"


@pytest.mark.parametrize("name", list_models())
def test_metadata_is_complete(name):
    spec = model_info(name)
    assert spec.description and spec.behaviour in ("underfits", "generalises", "overfits")
    assert spec.recipe.epochs >= 1 and spec.recipe.batch_size >= 1


def test_mlp_is_the_tutorial_network():
    model = build_model("mlp")
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    assert [layer.units for layer in dense] == [256, 256, 256, 10]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "relu", "softmax"]
    recipe = model_info("mlp").recipe
    assert (recipe.optimizer, recipe.learning_rate, recipe.batch_size) == ("sgd", 0.05, 256)
    assert model.optimizer.__class__.__name__ == "SGD"


def test_lenet5_layers():
    model = build_model("lenet5")
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert [(c.filters, c.kernel_size) for c in convs] == [(6, (5, 5)), (16, (5, 5))]
    assert sum(layer.__class__.__name__ == "AveragePooling2D" for layer in model.layers) == 2
    dense = [layer.units for layer in model.layers if layer.__class__.__name__ == "Dense"]
    assert dense == [120, 84, 10]


def test_expected_behaviours():
    assert model_info("tiny").behaviour == "underfits"
    assert model_info("overfit").behaviour == "overfits"
    assert model_info("overfit").recipe.train_size == 1000
    assert model_info("cnn").recipe.epochs <= 3


def test_space_to_depth_matches_tensorflow():
    import keras
    import tensorflow as tf

    from digitzoo.models._layers import space_to_depth

    inputs = keras.Input((4, 6, 3))
    model = keras.Model(inputs, space_to_depth(inputs))
    x = np.arange(2 * 4 * 6 * 3, dtype="float32").reshape(2, 4, 6, 3)
    np.testing.assert_array_equal(np.asarray(model(x)), tf.nn.space_to_depth(x, 2).numpy())
