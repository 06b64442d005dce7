"""Probabilities that mean what they say: temperature scaling and its measures.

A model trained with label smoothing learns to answer 90 % where it is right 99.6 % of the time;
one trained without it is often too sure. Temperature scaling (Guo et al., 2017) divides the
logits by one number T fitted on images the model never trained on — T < 1 sharpens, T > 1
softens — which changes no prediction, only how sure each is. digitzoo holds out
:data:`HELD_OUT_SHARE` of the training images for it (2 000 of MNIST's 60 000, the same for every
model and seed) and keeps T with the model: in the cache's record, in the shipped weights'
manifest, and baked into exported files.

The zoo's models end in a softmax, so the logits are log p up to a constant per image, which
softmax removes: ``softmax(log p / T)`` is the calibrated probability, and ``softmax(T · log q)``
gives the uncalibrated ``p`` back from a calibrated ``q``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DigitzooError

__all__ = [
    "BINS",
    "HELD_OUT_SHARE",
    "Calibrated",
    "Reliability",
    "apply_temperature",
    "expected_calibration_error",
    "fit_temperature",
    "held_out_split",
    "reliability",
]

#: Share of the training images held out to fit the temperature: 2 000 of MNIST's 60 000.
HELD_OUT_SHARE = 1 / 30
#: Fewer held-out images than this (training sets under 30 000 images) fit no temperature: T stays 1.
MIN_HELD_OUT = 1000
#: Bins of confidence for the expected calibration error and the reliability diagram.
BINS = 15
_SEED = 0  # the held-out images are the same for every run, whatever its seed
_TINY = float(np.finfo(np.float32).tiny)  # the smallest probability a float32 softmax gives


def held_out_split(x: np.ndarray, y: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(train, held_out)``: a stratified :data:`HELD_OUT_SHARE` of ``(x, y)`` held out, the rest to train on.

    Both keep their original order. With fewer than :data:`MIN_HELD_OUT` images to hold out,
    nothing is held out (the held-out arrays are empty).
    """
    from .data import stratified_subset

    count = int(len(y) * HELD_OUT_SHARE)
    if count < MIN_HELD_OUT:
        return (x, y), (x[:0], y[:0])
    index = np.arange(len(y))
    held, _ = stratified_subset(index, y, count, seed=_SEED)
    keep = np.ones(len(y), bool)
    keep[held] = False
    return (x[keep], y[keep]), (x[held], y[held])


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(probs) / temperature)`` row by row, as float32."""
    _check_temperature(temperature)
    probs = np.asarray(probs, np.float64)
    if temperature == 1.0:
        return probs.astype(np.float32)
    logits = np.log(np.clip(probs, _TINY, None)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    out = np.exp(logits)
    return (out / out.sum(axis=-1, keepdims=True)).astype(np.float32)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels`` under ``probs``."""
    from scipy.optimize import minimize_scalar

    probs, labels = _check(probs, labels)
    logp = np.log(np.clip(probs.astype(np.float64), _TINY, None))
    rows = np.arange(len(labels))

    def nll(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z_max = z.max(axis=1)
        return float(np.mean(z_max + np.log(np.exp(z - z_max[:, None]).sum(axis=1)) - z[rows, labels]))

    # T from 1/20 to 20: the NLL is smooth and has one minimum in T for any real model.
    found = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded", options={"xatol": 1e-4})
    return round(float(np.exp(found.x)), 4)


@dataclass(frozen=True)
class Reliability:
    """Per confidence bin (``BINS`` equal bins of [0, 1]): its images, mean confidence and accuracy.

    Empty bins have ``count`` 0 and NaN confidence and accuracy. ``ece`` is the expected
    calibration error: the count-weighted mean of |accuracy − confidence|.
    """

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    ece: float

    def to_dict(self) -> dict[str, Any]:
        def plain(values):
            return [None if np.isnan(v) else round(float(v), 6) for v in values]

        return {
            "ece": self.ece,
            "bins": [
                {"low": float(lo), "high": float(hi), "count": int(n), "confidence": c, "accuracy": a}
                for lo, hi, n, c, a in zip(
                    self.edges[:-1], self.edges[1:], self.count, plain(self.confidence), plain(self.accuracy)
                )
            ],
        }


def reliability(probs: np.ndarray, labels: np.ndarray, *, bins: int = BINS) -> Reliability:
    """How sure the model was against how often it was right, in ``bins`` bins of confidence."""
    probs, labels = _check(probs, labels)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise DigitzooError(f"bins must be a whole number >= 1, got {bins!r}")
    confidence = probs.max(axis=1).astype(np.float64)
    right = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bins are (low, high]; a confidence of exactly 0 cannot happen for a softmax over 10 classes.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, confidence, minlength=bins) / count
        accuracy = np.bincount(which, right, minlength=bins) / count
    filled = count > 0
    ece = float(np.sum(count[filled] * np.abs(accuracy[filled] - mean_confidence[filled])) / len(labels))
    return Reliability(edges, count, mean_confidence, accuracy, ece)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, *, bins: int = BINS) -> float:
    """Expected calibration error (fraction in [0, 1]) over ``bins`` equal bins of confidence."""
    return reliability(probs, labels, bins=bins).ece


class Calibrated:
    """A model whose probabilities :func:`digitzoo.inference.predict_proba` rescales by ``temperature``.

    Everything else (``name``, ``input_shape`` …) is the wrapped model's.
    """

    def __init__(self, model: Any, temperature: float) -> None:
        _check_temperature(temperature)
        self.model = model
        self.temperature = float(temperature)

    def __call__(self, images: Any) -> np.ndarray:
        """The wrapped model's probabilities for ``images``, calibrated."""
        return apply_temperature(np.asarray(self.model(images)), self.temperature)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["model"], name) if "model" in self.__dict__ else super().__getattribute__(name)

    def __repr__(self) -> str:
        return f"Calibrated({self.model!r}, temperature={self.temperature})"


def _check_temperature(temperature: float) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating)) or not (
        np.isfinite(temperature) and temperature > 0
    ):
        raise DigitzooError(f"temperature must be a positive number, got {temperature!r}")


def _check(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs, labels = np.asarray(probs), np.asarray(labels).astype(np.int64)
    if probs.ndim != 2 or labels.ndim != 1 or len(probs) != len(labels) or len(labels) == 0:
        raise DigitzooError(f"need (N, classes) probabilities and N labels, N > 0; got {probs.shape} and {labels.shape}")
    if labels.min() < 0 or labels.max() >= probs.shape[1]:
        raise DigitzooError(f"labels must lie in 0..{probs.shape[1] - 1}")
    return probs, labels
