"""Every registered model builds, matches its recorded metadata and classifies raw pixels."""

from __future__ import annotations

import numpy as np
import pytest

from digitzoo import build_model, list_models, model_info


@pytest.mark.parametrize("name", list_models())
def test_model_maps_raw_pixels_to_probabilities_image_by_image(name):
    spec = model_info(name)
    model = build_model(name)
    assert model.count_params() == spec.params
    assert tuple(model.input_shape[1:]) == spec.input_shape
    # uint8 pixels as training feeds them; each image's row must not depend on the others in the batch.
    pixels = np.random.default_rng(0).integers(0, 256, size=(4, *spec.input_shape), dtype=np.uint8)
    probs = np.asarray(model(pixels, training=False))  # as digitzoo.inference runs it: no augmentation
    assert probs.shape == (4, 10) and probs.min() >= 0
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(model(pixels[2:3], training=False))[0], probs[2], rtol=1e-4, atol=1e-6)
    assert np.abs(probs[0] - probs[1]).max() > 0  # the output depends on the image


@pytest.mark.parametrize("name", list_models())
def test_model_is_compiled_with_its_recorded_recipe(name):
    recipe = model_info(name).recipe
    model = build_model(name)
    assert type(model.optimizer).__name__.lower() == recipe.optimizer
    assert model.loss.get_config()["label_smoothing"] == pytest.approx(recipe.label_smoothing)
    assert model.jit_compile is recipe.jit_compile
    # The rate of the first step: the recipe's, or 0 where a cosine schedule warms up to it.
    first = recipe.learning_rate if recipe.schedule == "constant" else 0.0
    assert float(model.optimizer.learning_rate) == pytest.approx(first)


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
    assert model_info("tiny").behaviour == "underfitting"
    assert model_info("overfit").behaviour == "overfitting"
    assert model_info("cnn").behaviour == "generalises well"  # the words a run's diagnosis uses
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
