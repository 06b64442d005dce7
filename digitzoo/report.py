"""A report on one trained model: its metrics, confusion matrix, per-digit precision and recall,
its most confident mistakes, and a folder of figures and markdown that shows them.

:func:`build_report` computes the numbers from a :class:`~digitzoo.training.TrainResult` (with
its model) and the test set; :func:`model_report` trains or reuses the model first;
:func:`write_report` writes ``curves.png``, ``confusion.png``, ``mistakes.png`` and ``report.md``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DigitzooError
from .files import check_writable_folder

if TYPE_CHECKING:
    from .calibration import Reliability
    from .training import Arrays, TrainResult

__all__ = [
    "CLASSES",
    "REPORT_FILES",
    "Mistake",
    "Report",
    "confusion_matrix",
    "precision_recall",
    "most_confident_mistakes",
    "build_report",
    "model_report",
    "prepare_report_folder",
    "write_report",
    "report_markdown",
]

CLASSES = 10
#: What :func:`write_report` writes in the report folder, by kind.
#: How report.md begins: the sign that a folder holds an earlier report that may be replaced.
_TITLE = "# digitzoo report: "
REPORT_FILES = {
    "curves": "curves.png",
    "confusion": "confusion.png",
    "mistakes": "mistakes.png",
    "reliability": "reliability.png",
    "markdown": "report.md",
}
#: A test image the model gets right with this much more probability on its answer than on the
#: runner-up (uncalibrated) is a clean digit: its calibrated confidence should be near 100 %.
CLEAN_MARGIN = 0.5
DEFAULT_MISTAKES = 24


@dataclass(frozen=True)
class Mistake:
    """A wrong test prediction: the test image's index, its true digit, the digit predicted and
    the probability the model gave that digit; ``image`` is the (28, 28) uint8 digit."""

    index: int
    true: int
    predicted: int
    probability: float
    image: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "true": self.true, "predicted": self.predicted, "probability": self.probability}


@dataclass
class Report:
    """The numbers of a report on one trained model.

    ``confusion[i, j]`` counts the test images of digit ``i`` the model read as ``j``.
    ``precision[d]`` is the share of the images read as ``d`` that are ``d`` (0 if none was read
    as ``d``); ``recall[d]`` the share of the images of ``d`` read as ``d``; ``support[d]`` the
    number of test images of ``d``. ``mistakes`` are the most confident wrong predictions, most
    confident first. ``result`` is the training run, for its metrics and curves.
    ``uncalibrated`` and ``calibrated`` are the reliability on the test set of the model's own
    probabilities and of those rescaled by its temperature (``result.temperature``);
    ``clean_confidence`` the median calibrated confidence on clean digits (see ``CLEAN_MARGIN``).
    """

    result: TrainResult = field(repr=False)
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    support: np.ndarray
    mistakes: list[Mistake]
    uncalibrated: Reliability | None = None
    calibrated: Reliability | None = None
    clean_confidence: float | None = None

    @property
    def name(self) -> str:
        return self.result.name

    @property
    def accuracy(self) -> float:
        """Test accuracy from the confusion matrix: its diagonal over its sum."""
        return float(np.trace(self.confusion) / self.confusion.sum())

    def digits(self) -> list[dict[str, Any]]:
        """Per digit: ``digit``, ``precision``, ``recall`` and ``support``."""
        return [
            {
                "digit": d,
                "precision": float(self.precision[d]),
                "recall": float(self.recall[d]),
                "support": int(self.support[d]),
            }
            for d in range(len(self.support))
        ]

    def calibration(self) -> dict[str, Any]:
        """The temperature, where it was fitted, and the test set's reliability before and after."""
        r = self.result
        return {
            "temperature": r.temperature,
            "held_out_size": r.held_out_size,
            "held_out_ece": r.held_out_ece,
            "ece_before": self.uncalibrated.ece if self.uncalibrated else None,
            "ece_after": self.calibrated.ece if self.calibrated else None,
            "clean_confidence": self.clean_confidence,
            "uncalibrated": self.uncalibrated.to_dict() if self.uncalibrated else None,
            "calibrated": self.calibrated.to_dict() if self.calibrated else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON values (every number finite); images are left out."""
        r = self.result
        out = {
            "name": r.name,
            "params": r.params,
            "epochs": r.epochs,
            "train_size": r.train_size,
            "test_size": int(self.confusion.sum()),
            "train_accuracy": r.train_accuracy,
            "test_accuracy": r.test_accuracy,
            "train_loss": r.train_loss,
            "test_loss": r.test_loss,
            "gap": r.gap,
            "diagnosis": r.diagnosis,
            "recipe": r.recipe,
            "options": r.options,
            "seed": r.seed,
            "train_seconds": r.train_seconds,
            "reused": r.reused,
            "history": r.history,
            "confusion": self.confusion.tolist(),
            "digits": self.digits(),
            "mistakes": [m.to_dict() for m in self.mistakes],
            "calibration": self.calibration(),
        }
        json.dumps(out, allow_nan=False)  # fail here, not in a reader, if a number is not finite
        return out


def confusion_matrix(true: Any, predicted: Any, *, classes: int = CLASSES) -> np.ndarray:
    """Counts of (true, predicted) pairs: an int64 (classes, classes) matrix, rows the true class."""
    true, predicted = np.asarray(true).reshape(-1), np.asarray(predicted).reshape(-1)
    if len(true) != len(predicted):
        raise DigitzooError(f"need one prediction per label, got {len(true)} labels and {len(predicted)} predictions")
    for values, what in ((true, "labels"), (predicted, "predictions")):
        if len(values) and (not np.issubdtype(values.dtype, np.integer) or values.min() < 0 or values.max() >= classes):
            raise DigitzooError(
                f"{what} must be whole numbers 0-{classes - 1}, got {values.dtype} {values.min()}..{values.max()}"
            )
    pairs = true.astype(np.int64) * classes + predicted.astype(np.int64)
    return np.bincount(pairs, minlength=classes * classes).reshape(classes, classes)


def precision_recall(confusion: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and support (true images per class) from a confusion matrix.

    Precision of a class nothing was predicted as, and recall of a class with no images, are 0
    (as scikit-learn's ``zero_division=0``): a number JSON can carry, and no credit for nothing.
    """
    counts = np.asarray(confusion, dtype=np.int64)
    hits = np.diag(counts).astype(np.float64)
    predicted, support = counts.sum(axis=0), counts.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    return precision, recall, support


def most_confident_mistakes(probabilities: Any, labels: Any, count: int) -> np.ndarray:
    """Indices of up to ``count`` wrong predictions, the most confident first (ties: lower index first)."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels).reshape(-1)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    order = np.argsort(-confidence, kind="stable")
    return wrong[order[: max(0, count)]]


def build_report(
    result: TrainResult, test_set: tuple[np.ndarray, np.ndarray], *, mistakes: int = DEFAULT_MISTAKES
) -> Report:
    """The report on ``result`` (whose ``model`` is loaded) for ``test_set`` = ``(x_test, y_test)``.

    The test set must be the one the model was evaluated on: then the confusion matrix's
    diagonal over its sum is ``result.test_accuracy``.
    """
    from .calibration import apply_temperature, reliability
    from .inference import predict_proba

    if result.model is None:
        raise DigitzooError(f"the result of {result.name!r} has no model to report on; train or load it with its model")
    if isinstance(mistakes, bool) or not isinstance(mistakes, (int, np.integer)) or mistakes < 0:
        raise DigitzooError(f"the number of mistakes to show must be a whole number >= 0, got {mistakes!r}")
    images, labels = test_set
    labels = np.asarray(labels).reshape(-1)
    if len(images) != result.test_size:
        raise DigitzooError(
            f"{result.name!r} was tested on {result.test_size} images, but this test set has {len(images)}: "
            "report on the data it was trained with"
        )
    probabilities = predict_proba(result.model, images)
    predicted = probabilities.argmax(axis=1)
    confusion = confusion_matrix(labels, predicted)
    precision, recall, support = precision_recall(confusion)
    wrong = [
        Mistake(int(i), int(labels[i]), int(predicted[i]), float(probabilities[i, predicted[i]]), np.asarray(images[i]))
        for i in most_confident_mistakes(probabilities, labels, int(mistakes))
    ]
    calibrated = apply_temperature(probabilities, result.temperature)
    top_two = np.sort(probabilities, axis=1)[:, -2:]
    clean = (predicted == labels) & (top_two[:, 1] - top_two[:, 0] >= CLEAN_MARGIN)
    clean_confidence = float(np.median(calibrated.max(axis=1)[clean])) if clean.any() else None
    return Report(
        result, confusion, precision, recall, support, wrong,
        uncalibrated=reliability(probabilities, labels), calibrated=reliability(calibrated, labels),
        clean_confidence=clean_confidence,
    )


def model_report(
    name: str, *, data: str | os.PathLike | Arrays | None = None, mistakes: int = DEFAULT_MISTAKES, **train_kwargs: Any
) -> Report:
    """Train ``name`` (or reuse the cached model) as :func:`digitzoo.training.train` does with
    ``train_kwargs``, then build its report on the test set of ``data`` (default: MNIST).

    ``data`` is read once, here: the report needs its test set even when the model is cached.
    """
    from .training import train

    if data is None or isinstance(data, (str, os.PathLike)):
        from .data import load_mnist

        data = load_mnist(data)  # verified MNIST: the cache key is the one train(data=None) uses
    result = train(name, data=data, load=True, **train_kwargs)
    return build_report(result, data[1], mistakes=mistakes)


def prepare_report_folder(folder: str | os.PathLike) -> Path:
    """Make ``folder`` if needed and check that the report's files can be written in it.

    Call it before training, so that a folder that cannot hold the report fails at once.
    Raises ``DigitzooError`` naming the folder (or the file in the way).
    """
    folder = Path(folder)
    try:
        check_writable_folder(folder)
    except OSError as exc:
        raise DigitzooError(f"cannot write the report in {folder}: {exc.strerror or exc}") from None
    for name in REPORT_FILES.values():
        if (folder / name).is_dir():
            raise DigitzooError(f"cannot write the report in {folder}: {folder / name} is a folder")
    # Files of these names are replaced only as part of an earlier report, never the user's own.
    taken = [name for name in REPORT_FILES.values() if (folder / name).exists()]
    if taken and not _is_report(folder / REPORT_FILES["markdown"]):
        raise DigitzooError(
            f"cannot write the report in {folder}: it holds {', '.join(taken)} but no earlier digitzoo report; "
            "name a new folder"
        )
    return folder


def _is_report(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline().startswith(_TITLE)
    except OSError:
        return False


def write_report(report: Report, folder: str | os.PathLike, *, columns: int = 8) -> dict[str, Path]:
    """Write the report's figures and ``report.md`` into ``folder``; return the paths by kind.

    Every file is written whole or not at all; ``report.md`` comes last, so it never links a
    figure that is not there.
    """
    from .figures import save_figure
    from .figures.confusion import confusion_figure
    from .figures.curves import curves_figure
    from .figures.mistakes import mistakes_figure
    from .figures.reliability import reliability_figure

    folder = prepare_report_folder(folder)
    curves = _ensemble_member(report) is None
    paths = {kind: folder / name for kind, name in REPORT_FILES.items() if kind != "curves" or curves}
    name = report.name
    if curves:
        save_figure(curves_figure([report.result], title=f"{name}: learning curves"), paths["curves"])
    confusion_title = f"{name}: confusion matrix on {report.confusion.sum():,} test images"
    save_figure(confusion_figure(report.confusion, title=confusion_title), paths["confusion"])
    m = report.mistakes
    mistakes = mistakes_figure(
        np.array([x.image for x in m]).reshape(-1, 28, 28),
        [x.true for x in m],
        [x.predicted for x in m],
        [x.probability for x in m],
        columns=columns,
        title=f"{name}: the {len(m)} most confident mistakes (true → predicted)",
    )
    save_figure(mistakes, paths["mistakes"])
    panels = {"uncalibrated": report.uncalibrated, f"calibrated (T = {report.result.temperature:g})": report.calibrated}
    save_figure(reliability_figure(panels, title=f"{name}: reliability on the test set"), paths["reliability"])
    _write_text(paths["markdown"], report_markdown(report))
    return paths


def report_markdown(report: Report) -> str:
    """``report.md``: a metrics table, the per-digit table, and the three figures beneath."""
    r = report.result
    recipe = r.recipe
    rows = [
        ("train accuracy", f"{r.train_accuracy:.2%}"),
        ("test accuracy", f"{r.test_accuracy:.2%}"),
        ("gap (train − test)", f"{r.gap * 100:+.2f} points"),
        ("train loss", f"{r.train_loss:.4f}"),
        ("test loss", f"{r.test_loss:.4f}"),
        ("diagnosis", f"**{r.diagnosis}**"),
        ("parameters", f"{r.params:,}"),
        ("recipe", _recipe_text(recipe, r.train_size)),
        ("training time", f"{r.train_seconds:.1f} s" + (" (cached model)" if r.reused else "")),
        ("test set", f"{int(report.confusion.sum()):,} images"),
    ]
    lines = [f"{_TITLE}{r.name}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    lines += ["", "## Per digit", "", "| digit | precision | recall | test images |", "|---:|---:|---:|---:|"]
    lines += [
        f"| {d['digit']} | {d['precision']:.2%} | {d['recall']:.2%} | {d['support']:,} |" for d in report.digits()
    ]
    lines += ["", "## Learning curves", ""]
    member = _ensemble_member(report)
    if member is None:
        lines += [
            "Train (solid) and test (dashed) accuracy and loss after every epoch.",
            "",
            f"![Learning curves of {r.name}]({REPORT_FILES['curves']})",
        ]
    else:
        lines += [f"An ensemble is not trained as one: each `{member}` it averages has its own (`digitzoo report {member} --seed N`)."]
    lines += [
        "",
        "## Confusion matrix",
        "",
        "Rows are the true digit, columns the predicted one; colours are each row's share.",
        "",
        f"![Confusion matrix of {r.name}]({REPORT_FILES['confusion']})",
        "",
        "## Most confident mistakes",
        "",
        "Wrong test predictions, most confident first: true → predicted, and the probability given.",
        "",
        f"![Most confident mistakes of {r.name}]({REPORT_FILES['mistakes']})",
        "",
        "## Calibration",
        "",
        _calibration_text(report),
        "",
        f"![Reliability of {r.name}]({REPORT_FILES['reliability']})",
        "",
    ]
    return "\n".join(lines)


def _ensemble_member(report: Report) -> str | None:
    """The model an ensemble averages, or None. An ensemble has no learning curves of its own: its
    members trained, it did not."""
    from .registry import model_info

    ensemble = model_info(report.name).ensemble
    return ensemble.member if ensemble else None


def _calibration_text(report: Report) -> str:
    r = report.result
    if not r.held_out_size:
        fitted = "No images were held out from its training, so its probabilities are its own (temperature 1)."
    else:
        fitted = (
            f"Its probabilities are divided, as logits, by the temperature {r.temperature:g}, fitted on "
            f"{r.held_out_size:,} training images held out from its training."
        )
    ece = f"Expected calibration error (15 bins) on the test set: {report.uncalibrated.ece:.2%} uncalibrated, " \
          f"{report.calibrated.ece:.2%} calibrated."
    clean = (
        f" A clean digit (right, {CLEAN_MARGIN:.0%} ahead of the runner-up) reads {report.clean_confidence:.2%} in median."
        if report.clean_confidence is not None else ""
    )
    return f"{fitted} {ece}{clean}"


def _recipe_text(recipe: dict[str, Any], train_size: int) -> str:
    text = (
        f"{recipe['epochs']} epochs, batch {recipe['batch_size']}, {recipe['optimizer']} "
        f"(learning rate {recipe['learning_rate']:g}, {recipe['schedule']}), on {train_size:,} images"
    )
    extras = [
        f"{key.replace('_', ' ')} {recipe[key]:g}" for key in ("weight_decay", "label_smoothing") if recipe.get(key)
    ]
    return ", ".join([text, *extras])


def _write_text(path: Path, text: str) -> None:
    from .files import atomic_path

    try:
        with atomic_path(path, suffix=".md") as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DigitzooError(f"cannot write {path}: {exc.strerror or exc}") from None
