"""NaN and infinities in pixels: every function that takes pixels refuses them, with one message.

A model given NaN answers with ordinary-looking probabilities (the mlp said 5 at 17 %), and so
did the Python API while ``predict_digits`` refused the same image. All of them now make the
same check (``digitzoo.image.convert.check_finite``).
"""

from __future__ import annotations

import numpy as np
import pytest

from digitzoo import export
from digitzoo.errors import ImageError
from digitzoo.image import filters, synthetic
from digitzoo.image.digits import digit_stages, preprocess_digit
from digitzoo.image.io import fit_side
from digitzoo.inference import Predictor, predict_proba
from digitzoo.predict import classify, predict_digits
from digitzoo.weights import load_pretrained

cv2 = pytest.importorskip("cv2")


def _digit() -> np.ndarray:
    """A plain 1: a bar down the middle of a 28×28 float image, ink 255 on 0."""
    image = np.zeros((28, 28), np.float64)
    image[5:23, 12:16] = 255.0
    return image


def _spoiled(value: float, *, stroke: bool = False) -> np.ndarray:
    """Three digits; the second is all ``value``, or (``stroke``) carries it along its stroke only."""
    images = np.stack([_digit()] * 3)
    if stroke:
        images[1][images[1] > 0] = value
    else:
        images[1] = value
    return images


SPOILS = [
    pytest.param(np.nan, False, id="nan"),
    pytest.param(np.inf, False, id="inf"),
    pytest.param(-np.inf, False, id="-inf"),
    pytest.param(np.nan, True, id="nan-stroke"),
]


@pytest.fixture(scope="module")
def keras_mlp():
    return load_pretrained("mlp")


@pytest.fixture(scope="module")
def lite_mlp():
    pytest.importorskip("ai_edge_litert")
    return load_pretrained("mlp", runtime="litert")


@pytest.mark.parametrize(("value", "stroke"), SPOILS)
def test_models_refuse_non_finite_pixels_naming_the_image(keras_mlp, lite_mlp, value, stroke):
    images = _spoiled(value, stroke=stroke)
    callers = {
        "Predictor": lambda x: Predictor(keras_mlp)(x),
        "predict_proba": lambda x: predict_proba(keras_mlp, x),
        "Predictor of LiteRT": lambda x: Predictor(lite_mlp)(x),
        "LiteModel": lite_mlp,
        "classify": lambda x: classify(keras_mlp, x),
        "load_exported": export.load_exported(lite_mlp.path),
        "export._pixels": export._pixels,  # what the SavedModel and ONNX runners call first, too
    }
    for name, call in callers.items():
        with pytest.raises(ImageError) as info:
            call(images)
        assert str(info.value) == "images[1] contains NaN or infinite values", name


def test_a_single_image_is_named_as_one(keras_mlp):
    with pytest.raises(ImageError) as info:
        Predictor(keras_mlp)(np.full((28, 28), np.nan))
    assert str(info.value) == "image contains NaN or infinite values"


def test_finite_pixels_still_get_probabilities(keras_mlp, lite_mlp):
    images = np.stack([_digit()] * 3)
    for probabilities in (Predictor(keras_mlp)(images), lite_mlp(images)):
        assert probabilities.shape == (3, 10) and np.isfinite(probabilities).all()
    np.testing.assert_array_equal(export._pixels(images), images.astype(np.float32))


@pytest.mark.parametrize(("value", "stroke"), SPOILS)
def test_image_functions_refuse_non_finite_pixels_alike(value, stroke):
    image = _spoiled(value, stroke=stroke)[1]
    callers = {
        "predict_digits": lambda x: predict_digits([x], model="mlp"),
        "digit_stages": digit_stages,
        "preprocess_digit": preprocess_digit,
        "apply_kernel": lambda x: filters.apply_kernel(x, filters.VERTICAL),
        "filter_image": lambda x: filters.filter_image(x, filters.VERTICAL),
        "show_image": filters.show_image,
        "fit_side": lambda x: fit_side(x, 10),
    }
    for name, call in callers.items():
        with pytest.raises(ImageError) as info:
            call(image)
        assert str(info.value) == "image contains NaN or infinite values", name


def test_a_response_or_a_digit_to_draw_with_nan_is_refused_too():
    response = np.zeros((5, 5), np.float32)
    response[2, 2] = np.nan
    with pytest.raises(ImageError) as info:
        filters.show_response(response, "abs")
    assert str(info.value) == "response contains NaN or infinite values"
    rng = np.random.default_rng(0)
    digit = _digit()
    digit[10, 13] = np.inf
    with pytest.raises(ImageError) as info:
        synthetic.draw_photo([_digit().astype(np.uint8), digit], [1, 1], synthetic.random_style(rng, digits=2), rng)
    assert str(info.value) == "digits[1] contains NaN or infinite values"
