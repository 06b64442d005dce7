"""Temperature scaling: the fit, its measures, the held-out images, and calibrated models."""

from __future__ import annotations

import numpy as np
import pytest

from digitzoo.calibration import (
    HELD_OUT_SHARE,
    MIN_HELD_OUT,
    Calibrated,
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    held_out_split,
    reliability,
)
from digitzoo.errors import DigitzooError
from digitzoo.inference import predict_proba


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def _calibrated_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and labels drawn from those very probabilities: calibrated by construction."""
    rng = np.random.default_rng(seed)
    probs = _softmax(rng.normal(0, 3, size=(n, 10)))
    labels = np.array([rng.choice(10, p=p) for p in probs])
    return probs, labels


def test_the_fit_finds_the_temperature_that_spoiled_calibrated_probabilities():
    probs, labels = _calibrated_sample(20_000, seed=0)
    for spoil in (0.5, 2.0):  # too sure, then not sure enough
        spoiled = apply_temperature(probs, 1 / spoil)  # logits × spoil
        assert fit_temperature(spoiled, labels) == pytest.approx(spoil, rel=0.05)


def test_a_temperature_changes_no_prediction_and_its_inverse_undoes_it():
    probs, _ = _calibrated_sample(500, seed=1)
    sharper = apply_temperature(probs, 0.4)
    assert (sharper.argmax(axis=1) == probs.argmax(axis=1)).all()
    assert (sharper.max(axis=1) >= probs.max(axis=1) - 1e-6).all()
    np.testing.assert_allclose(apply_temperature(sharper, 1 / 0.4), probs, atol=1e-5)
    np.testing.assert_allclose(sharper.sum(axis=1), 1.0, atol=1e-5)


def test_ece_is_near_zero_when_calibrated_and_the_gap_when_not():
    probs, labels = _calibrated_sample(20_000, seed=2)
    assert expected_calibration_error(probs, labels) < 0.015
    # Always 100 % sure and right half the time: the error is the whole 50-point gap.
    sure = np.eye(10)[[0, 1] * 50]
    assert expected_calibration_error(sure, np.zeros(100, int)) == pytest.approx(0.5)


def test_reliability_bins_count_every_image_once():
    probs, labels = _calibrated_sample(3_000, seed=3)
    table = reliability(probs, labels, bins=15)
    assert table.count.sum() == 3_000 and len(table.count) == 15
    filled = table.count > 0
    assert ((table.confidence[filled] > table.edges[:-1][filled]) & (table.confidence[filled] <= table.edges[1:][filled])).all()
    as_json = table.to_dict()
    assert as_json["ece"] == table.ece and len(as_json["bins"]) == 15


@pytest.mark.parametrize(
    "probs, labels",
    [(np.ones((3, 10)) / 10, np.array([0, 1])), (np.ones((2, 10)) / 10, np.array([0, 10])), (np.ones(10), np.array([1]))],
)
def test_mismatched_or_impossible_inputs_are_refused(probs, labels):
    with pytest.raises(DigitzooError):
        fit_temperature(probs, labels)


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan"), float("inf"), True, "2"])
def test_a_temperature_must_be_a_positive_number(temperature):
    with pytest.raises(DigitzooError, match="temperature"):
        apply_temperature(np.ones((1, 10)) / 10, temperature)


def test_the_held_out_images_are_a_stratified_share_apart_from_the_training_images():
    y = np.repeat(np.arange(10), 3_100)
    x = np.arange(len(y))
    (x_train, y_train), (x_held, y_held) = held_out_split(x, y)
    assert len(x_held) == int(len(y) * HELD_OUT_SHARE) and len(x_train) + len(x_held) == len(y)
    assert not set(x_train) & set(x_held)
    assert np.ptp(np.bincount(y_held)) <= 1  # each digit its share, to the rounding
    assert np.array_equal(held_out_split(x, y)[1][0], x_held)  # the same images every time


def test_a_small_training_set_holds_nothing_out():
    y = np.repeat(np.arange(10), 100)
    (x_train, _), (x_held, _) = held_out_split(np.arange(1_000), y)
    assert len(x_train) == 1_000 and len(x_held) == 0 and int(1_000 * HELD_OUT_SHARE) < MIN_HELD_OUT


def test_the_fitted_temperature_lowers_ece_on_images_it_was_not_fitted_on(small_mnist, tmp_path):
    # Label smoothing trains a model to be less sure than it is right: the fit must sharpen it,
    # and that must hold on test digits other than those it was fitted on.
    from digitzoo.cache import ModelCache
    from digitzoo.training import train

    (_, _), (xt, yt) = small_mnist
    result = train("cnn", data=small_mnist, cache=ModelCache(tmp_path), epochs=4)
    probs = predict_proba(result.model, xt)
    fit, check = slice(0, 500), slice(500, 1_000)
    temperature = fit_temperature(probs[fit], yt[fit])
    assert temperature < 1.0
    before = expected_calibration_error(probs[check], yt[check])
    after = expected_calibration_error(apply_temperature(probs[check], temperature), yt[check])
    assert after < before / 2


def test_a_calibrated_model_gives_its_rescaled_probabilities(trained_mlp, small_mnist):
    (_, _), (xt, _) = small_mnist
    model = trained_mlp.model
    raw = predict_proba(model, xt[:50])
    wrapped = Calibrated(model, 0.5)
    np.testing.assert_allclose(predict_proba(wrapped, xt[:50]), apply_temperature(raw, 0.5), atol=1e-6)
    assert wrapped.name == model.name and wrapped.input_shape == model.input_shape
