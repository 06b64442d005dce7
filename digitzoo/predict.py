"""Recognising digits in photos with a trained model from the zoo."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DigitzooError
from .image.digits import DigitStages, digit_stages
from .image.io import read_image
from .inference import predict_proba

__all__ = ["DigitGuess", "Prediction", "classify", "predict_digits", "predict_stages", "read_digits"]

@dataclass
class DigitGuess:
    """One digit: the model's choice, its probability, and the ``top`` most likely digits."""

    digit: int
    confidence: float
    top: list[tuple[int, float]]


@dataclass
class Prediction:
    """What was read in one image. ``confidence`` is the product of the digits' probabilities."""

    digits: str
    confidence: float
    guesses: list[DigitGuess]
    stages: DigitStages | None = field(default=None, repr=False)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "digits": self.digits,
            "confidence": self.confidence,
            "guesses": [
                {"digit": g.digit, "confidence": g.confidence, "top": [{"digit": d, "p": p} for d, p in g.top]}
                for g in self.guesses
            ],
        }


def classify(model, digits: np.ndarray, *, top: int = 3) -> list[DigitGuess]:
    """Classify (N, 28, 28) MNIST-style uint8 digits in batches with a Keras model."""
    if not 1 <= top <= 10:
        raise DigitzooError(f"top must be from 1 to 10, got {top}")
    if len(digits) == 0:
        return []
    probs = predict_proba(model, digits)
    order = np.argsort(-probs, axis=1)[:, :top]
    return [
        DigitGuess(int(row[0]), float(p[row[0]]), [(int(d), float(p[d])) for d in row])
        for p, row in zip(probs, order)
    ]


def predict_stages(model, stages: Sequence[DigitStages], *, top: int = 3, sources: Sequence[str] = ()) -> list[Prediction]:
    """Classify the digits that :func:`digit_stages` found, all images in one batched call."""
    digits = [d for s in stages for d in s.digits]
    guesses = classify(model, np.stack(digits) if digits else np.zeros((0, 28, 28), np.uint8), top=top)
    results, start = [], 0
    for i, stage in enumerate(stages):
        mine = guesses[start : start + len(stage.digits)]
        start += len(stage.digits)
        results.append(
            Prediction(
                digits="".join(str(g.digit) for g in mine),
                confidence=float(np.prod([g.confidence for g in mine])),
                guesses=mine,
                stages=stage,
                source=sources[i] if i < len(sources) else "",
            )
        )
    return results


def predict_digits(
    images: Sequence[np.ndarray | str | os.PathLike],
    *,
    model: Any = "cnn",
    multi: bool = False,
    top: int = 3,
    **train_kwargs: Any,
) -> list[Prediction]:
    """Read the digit (or, with ``multi``, the row of digits) in each image.

    ``images`` are arrays (as :func:`digitzoo.image.preprocess_digit` takes them) or file paths.
    ``model`` is a zoo name — its cached trained model is used, trained first if there is none
    (``train_kwargs`` go to :func:`digitzoo.train`) — or a Keras model. All digits of all images
    go to the model together, in batches.
    """
    stages = [read_digits(image, multi=multi) for image in images]
    if isinstance(model, str):
        from .training import load_trained

        model = load_trained(model, **train_kwargs)
    sources = [str(image) if isinstance(image, (str, os.PathLike)) else "" for image in images]
    return predict_stages(model, stages, top=top, sources=sources)


def read_digits(image: np.ndarray | str | os.PathLike, *, multi: bool = False) -> DigitStages:
    """The pipeline's stages for an image array or file."""
    pixels = read_image(image) if isinstance(image, (str, os.PathLike)) else image
    return digit_stages(pixels, multi=multi)
