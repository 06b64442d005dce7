"""Recognising digits in photos with a trained model from the zoo.

Reading an image (:func:`read_images`) and classifying its digits (:func:`predict_stages`) are
separate steps, so that one unreadable file costs only its own result and the model is loaded
(or trained) only once some image has been read. :func:`predict_digits` does both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import DigitzooError, ImageError
from .files import check_writable_folder
from .image.digits import ROW, SINGLE, DigitStages, digit_stages
from .image.io import read_image
from .inference import predict_proba
from .zoo import check_model_file, load_model_file, resolve

__all__ = [
    "DigitGuess",
    "Prediction",
    "check_model_file",
    "classify",
    "load_model",
    "load_model_file",
    "predict_digits",
    "predict_stages",
    "prepare_stage_folder",
    "read_digits",
    "read_images",
    "save_stages",
]

Image = np.ndarray | str | os.PathLike


@dataclass
class DigitGuess:
    """One digit: the model's choice, its probability, and the ``top`` most likely digits."""

    digit: int
    confidence: float
    top: list[tuple[int, float]]


@dataclass
class Prediction:
    """What was read in one image. ``confidence`` is the product of the digits' probabilities.

    ``reading`` is ``"single"`` (all ink one digit) or ``"row"``, ``why`` says why; when the model
    chose between both, ``compared`` holds each reading's digits and joint probability.
    ``error`` says why an image could not be read; such a prediction has no digits or guesses.
    """

    digits: str
    confidence: float
    guesses: list[DigitGuess]
    stages: DigitStages | None = field(default=None, repr=False)
    source: str = ""
    error: str = ""
    reading: str = ""
    why: str = ""
    compared: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        if self.error:
            return {"source": self.source, "error": self.error}
        return {
            "source": self.source,
            "digits": self.digits,
            "confidence": self.confidence,
            "reading": self.reading,
            "why": self.why,
            "compared": self.compared,
            "guesses": [
                {"digit": g.digit, "confidence": g.confidence, "top": [{"digit": d, "p": p} for d, p in g.top]}
                for g in self.guesses
            ],
        }


def classify(model, digits: np.ndarray, *, top: int = 3) -> list[DigitGuess]:
    """Classify (N, 28, 28) MNIST-style uint8 digits in batches with a Keras model."""
    _check_top(top)
    if len(digits) == 0:
        return []
    return _guesses(predict_proba(model, digits), top)


def _guesses(probs: np.ndarray, top: int) -> list[DigitGuess]:
    order = np.argsort(-probs, axis=1)[:, :top]
    return [
        DigitGuess(int(row[0]), float(p[row[0]]), [(int(d), float(p[d])) for d in row])
        for p, row in zip(probs, order)
    ]


# Where a picture holds several digit-sized marks, one digit read at less than this is not an answer.
_SURE_SINGLE = 0.5


def predict_stages(
    model, stages: Sequence[DigitStages | DigitzooError], *, top: int = 3, sources: Sequence[Any] = ()
) -> list[Prediction]:
    """Classify the digits that :func:`read_images` found, all images in one batched call.

    Where the ink could be one digit in pieces or a row written tightly (``stages.alternative``),
    both readings are classified and the more probable one is kept — the product of its digits'
    probabilities — except that a single digit below 50 % is never the answer when the ink holds
    several digit-sized marks. The choice is settled in ``stages`` (:meth:`DigitStages.choose`).
    An error in ``stages`` becomes a prediction with that ``error``. ``model`` is not used when no
    stage holds a digit. ``sources`` name the images, in the same order.
    """
    _check_top(top)
    read = [s for s in stages if isinstance(s, DigitStages)]
    batch = [d for s in read for d in s.digits + (s.alternative.digits if s.alternative else [])]
    probs = iter(predict_proba(model, np.stack(batch)) if batch else ())
    results = []
    for i, stage in enumerate(stages):
        source = str(sources[i]) if i < len(sources) else ""
        if isinstance(stage, DigitzooError):
            results.append(Prediction("", 0.0, [], source=source, error=str(stage)))
            continue
        mine = np.array([next(probs) for _ in stage.digits])
        compared = {}
        if stage.alternative is not None:
            other = np.array([next(probs) for _ in stage.alternative.digits])
            compared = {stage.reading: _joint(mine), _other(stage.reading): _joint(other)}
            reading, why = _settle(stage, compared)
            if reading != stage.reading:
                mine = other
            stage.choose(reading, why)
        guesses = _guesses(mine, top)
        digits_read = "".join(str(g.digit) for g in guesses)
        confidence = float(np.prod([g.confidence for g in guesses]))
        results.append(
            Prediction(
                digits_read, confidence, guesses, stages=stage, source=source,
                reading=stage.reading, why=stage.why, compared=compared,
            )
        )
    return results


def _joint(probs: np.ndarray) -> dict[str, Any]:
    """A reading's digits and their joint probability (the product of each digit's)."""
    return {"digits": "".join(str(int(d)) for d in probs.argmax(axis=1)), "p": float(np.prod(probs.max(axis=1)))}


def _other(reading: str) -> str:
    return ROW if reading == SINGLE else SINGLE


def _settle(stage: DigitStages, compared: dict[str, dict[str, Any]]) -> tuple[str, str]:
    single, row = compared[SINGLE]["p"], compared[ROW]["p"]
    if row >= single:
        return ROW, f"as a row {row:.0%} likely, as one digit {single:.0%}"
    if stage.digit_sized and single < _SURE_SINGLE:
        return ROW, f"{stage.columns} digit-sized marks, and as one digit only {single:.0%} likely"
    return SINGLE, f"as one digit {single:.0%} likely, as a row {row:.0%}"


def predict_digits(
    images: Sequence[Image],
    *,
    model: Any = None,
    multi: bool | None = None,
    top: int = 3,
    errors: Literal["raise", "collect"] = "raise",
    calibrated: bool = True,
    **train_kwargs: Any,
) -> list[Prediction]:
    """Read the digit, or the row of digits, in each image.

    ``multi``: None reads an image as a row when it clearly holds several digits side by side
    (see :func:`read_digits`), True always as a row, False always as one digit.
    ``images`` are arrays (as :func:`digitzoo.image.preprocess_digit` takes them) or file paths.
    ``model`` is a Keras model, a zoo name or None (the default): see :func:`load_model`, which
    ``calibrated`` and ``train_kwargs`` go to. All digits of all images
    go to the model together, in batches. An image that cannot be read raises its ``ImageError``,
    or with ``errors="collect"`` becomes a prediction with that ``error`` while the rest are read;
    the model is loaded only if some image was read.
    """
    if errors not in ("raise", "collect"):
        raise DigitzooError(f"errors must be 'raise' or 'collect', got {errors!r}")
    _check_top(top)  # before any training, not after
    stages = read_images(images, multi=multi)
    failed = [s for s in stages if isinstance(s, DigitzooError)]
    if failed and errors == "raise":
        raise failed[0]
    if (model is None or isinstance(model, str)) and len(failed) < len(stages):
        model = load_model(model, calibrated=calibrated, **train_kwargs)
    sources = [str(image) if isinstance(image, (str, os.PathLike)) else "" for image in images]
    return predict_stages(model, stages, top=top, sources=sources)


def read_images(images: Sequence[Image], *, multi: bool | None = None) -> list[DigitStages | DigitzooError]:
    """Each image's stages (see :func:`read_digits`), or the error that stopped that image."""
    stages: list[DigitStages | DigitzooError] = []
    for image in images:
        try:
            stages.append(read_digits(image, multi=multi))
        except DigitzooError as exc:
            stages.append(exc)
    return stages


def read_digits(image: Image, *, multi: bool | None = None) -> DigitStages:
    """The pipeline's stages for an image array or file.

    ``multi``: True cuts the ink into a row of digits, False takes it all as one digit, None (the
    default) reads a row only when the ink clearly holds several digits side by side — columns
    apart, level with each other, each with real ink — so the pieces of one broken digit (a 5
    whose bar stands apart, a 4 in two strokes) stay one digit. ``stages.row`` says which.
    """
    pixels = read_image(image) if isinstance(image, (str, os.PathLike)) else image
    return digit_stages(pixels, multi=multi)


def load_model(
    name: str | None = None,
    *,
    runtime: Literal["auto", "keras"] = "auto",
    calibrated: bool = True,
    **train_kwargs: Any,
):
    """The model that reads digits for ``name``: a Keras model, or a LiteRT one for shipped weights.

    None: the most accurate model shipped with digitzoo (:func:`digitzoo.weights.best_pretrained`),
    never trained, no MNIST needed. A zoo name: the user's cached trained model of that name if
    there is one, else its shipped weights, else it is trained now (``train_kwargs`` go to
    :func:`digitzoo.train`; with any of them, shipped weights, made with the default recipe, are
    not used). :func:`digitzoo.zoo.resolve` decides which.

    ``runtime="auto"`` runs shipped weights with LiteRT when it is installed (no TensorFlow import:
    seconds faster, the same digits and probabilities within 1e-4 of Keras); ``"keras"`` always
    returns a Keras model. Models the user trained are always Keras models.

    ``calibrated=True`` (the default) wraps a calibrated model in
    :class:`digitzoo.calibration.Calibrated`, so that its probabilities mean what they say;
    ``False`` gives the model's own, uncalibrated, probabilities.
    """
    if runtime not in ("auto", "keras"):
        raise DigitzooError(f"runtime must be 'auto' or 'keras', got {runtime!r}")
    found = resolve(name, runtime=runtime, train=True, **train_kwargs)
    return found.calibrated() if calibrated else found.model


def prepare_stage_folder(folder: str | os.PathLike) -> Path:
    """Make ``folder`` if needed and check that files can be written in it; raise ``ImageError`` if not.

    Call it before reading and classifying, so that a folder that cannot hold the stage images
    fails at once rather than after the work.
    """
    folder = Path(folder)
    try:
        check_writable_folder(folder)
    except OSError as exc:
        raise ImageError(f"{folder}: cannot write the stage images there ({exc.strerror or exc})") from None
    return folder


def save_stages(predictions: Sequence[Prediction], folder: str | os.PathLike, *, figure: bool = True) -> list[Path]:
    """Write each read image's stages as PNG files in ``folder``; return their paths.

    Per image: ``NAME-1-gray``, ``-2-ink``, ``-3-binary``, then ``-4-crop-K`` and ``-5-mnist-K``
    for each digit K, pixel for pixel as the pipeline made them; then, with ``figure``,
    ``NAME-stages``: all of them in one figure (:func:`digitzoo.figures.stages_figure`) with the
    digits read and their probabilities. NAME is the file's stem (``image-I`` for an array), with
    ``-I`` added when two images share a stem, so no image's stages overwrite another's.
    Predictions without stages (images that could not be read) are skipped.
    """
    from .image.io import write_image

    folder = prepare_stage_folder(folder)
    written: list[Path] = []
    used: set[str] = set()
    for i, prediction in enumerate(predictions, start=1):
        if prediction.stages is None:
            continue
        stem = re.sub(r"[^\w.-]+", "_", Path(prediction.source).stem) if prediction.source else f"image-{i}"
        stem = f"{stem}-{i}" if stem in used else stem
        used.add(stem)
        stage = prediction.stages
        images = {"1-gray": stage.gray, "2-ink": stage.ink, "3-binary": stage.binary}
        for k, (crop, digit) in enumerate(zip(stage.crops, stage.digits), start=1):
            images |= {f"4-crop-{k}": crop, f"5-mnist-{k}": digit}
        written += [write_image(folder / f"{stem}-{name}.png", pixels) for name, pixels in images.items()]
        if figure:
            written.append(_save_stages_figure(prediction, folder / f"{stem}-stages.png", f"image {i}"))
    return written


def _save_stages_figure(prediction: Prediction, path: Path, unnamed: str) -> Path:
    from .figures import save_figure, stages_figure

    name = Path(prediction.source).name if prediction.source else unnamed
    title = f"{name}: read {prediction.digits} ({prediction.confidence:.1%})"
    return save_figure(stages_figure(prediction.stages, guesses=prediction.guesses, title=title), path)


def _check_top(top: int) -> None:
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or not 1 <= top <= 10:
        raise DigitzooError(f"top must be a whole number from 1 to 10, got {top!r}")
