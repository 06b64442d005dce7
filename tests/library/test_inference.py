"""Predictor and predict_proba: the same probabilities as model.predict, any batch size, clear errors."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import digitzoo
from digitzoo import DigitzooError, build_model
from digitzoo.inference import Predictor, predict_proba


@pytest.fixture(scope="module", params=["tiny", "cnn"])
def model(request):
    """Untrained zoo models: their weights are random, which is all an equality test needs."""
    return build_model(request.param, compile=False)


def _pixels(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def _keras(model, images: np.ndarray) -> np.ndarray:
    return model.predict(images.astype(np.float32), verbose=0)


def test_equals_model_predict(model):
    images = _pixels(37)
    probabilities = Predictor(model)(images)
    assert probabilities.shape == (37, 10) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, _keras(model, images), atol=1e-5)
    np.testing.assert_allclose(predict_proba(model, images), probabilities, atol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 17])
def test_batches_of_any_size(model, n):
    predictor = Predictor(model, batch_size=8)
    seen = []
    forward = predictor._forward
    predictor._forward = lambda batch: seen.append(len(batch)) or forward(batch)
    images = _pixels(n, seed=n)
    probabilities = predictor(images)
    assert probabilities.shape == (n, 10)
    assert sum(seen) == n and all(size <= 8 for size in seen)
    if n:
        np.testing.assert_allclose(probabilities, _keras(model, images), atol=1e-5)


def test_traced_once_for_every_batch_size(model):
    predictor = Predictor(model, batch_size=8)
    for n in (1, 5, 8, 20):
        predictor(_pixels(n))
    assert predictor._forward.experimental_get_tracing_count() == 1


def test_one_image_and_float_pixels(model):
    images = _pixels(3)
    predictor = Predictor(model)
    batch = predictor(images)
    single = predictor(images[1])
    assert single.shape == (10,)
    np.testing.assert_allclose(single, batch[1], atol=1e-6)
    np.testing.assert_allclose(predictor(images.astype(np.float64)), batch, atol=1e-6)
    np.testing.assert_allclose(predictor(list(images)), batch, atol=1e-6)


def test_follows_the_weights_as_they_change():
    model = build_model("tiny", compile=False)
    predictor = Predictor(model)
    images = _pixels(4)
    before = predictor(images)
    model.set_weights([w + 0.5 for w in model.get_weights()])
    after = predictor(images)
    assert not np.allclose(before, after, atol=1e-3)
    np.testing.assert_allclose(after, _keras(model, images), atol=1e-5)


def test_jit_compiled_gives_the_same_probabilities():
    model = build_model("tiny", compile=False)
    images = _pixels(9)
    np.testing.assert_allclose(Predictor(model, jit_compile=True)(images), _keras(model, images), atol=1e-5)


def test_predict_proba_does_not_keep_the_model_alive():
    model = build_model("tiny", compile=False)
    predict_proba(model, _pixels(2))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((28, 27)), r"images must have shape \(N, 28, 28\) or \(28, 28\), got \(28, 27\)"),
        (np.zeros((2, 28, 28, 1)), r"images must have shape \(N, 28, 28\) or \(28, 28\), got \(2, 28, 28, 1\)"),
        (np.zeros(784), r"images must have shape \(N, 28, 28\) or \(28, 28\), got \(784,\)"),
        ([np.zeros((28, 28)), np.zeros((14, 14))], r"got a ragged sequence"),
        (np.zeros((2, 28, 28), bool), r"images must be raw pixel numbers \(uint8, int or float\), got dtype bool"),
        (np.array([["7"] * 28] * 28), r"got dtype <U1"),
    ],
)
def test_bad_images_are_one_line_errors(images, message):
    predictor = Predictor(build_model("tiny", compile=False))
    with pytest.raises(DigitzooError, match=message):
        predictor(images)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8"])
def test_bad_batch_size(batch_size):
    with pytest.raises(DigitzooError, match=r"batch_size must be a whole number >= 1, got"):
        Predictor(build_model("tiny", compile=False), batch_size=batch_size)


def test_not_a_model():
    with pytest.raises(DigitzooError, match="model must be a Keras model, got str"):
        predict_proba("cnn", _pixels(1))


def test_exported_from_the_package():
    assert digitzoo.Predictor is Predictor and digitzoo.predict_proba is predict_proba
