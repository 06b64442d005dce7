"""Learning curves: train and test accuracy and loss after every epoch, for one model or several."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .style import COLORS, new_figure, save_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..training import TrainResult

__all__ = ["curves_figure", "write_curves"]


def curves_figure(results: Sequence[TrainResult], *, title: str | None = None) -> Figure:
    """Accuracy and loss against epoch for every result: train solid, test dashed, one colour each."""
    results = list(results)
    figure = new_figure(9, 3.6, title=title)
    with styled():
        acc_ax, loss_ax = figure.subplots(1, 2)
        for i, result in enumerate(results):
            colour = COLORS[i % len(COLORS)]
            history = result.history
            epochs = range(1, len(history["test_accuracy"]) + 1)
            label = f"{result.name} — {result.diagnosis}"
            acc_ax.plot(epochs, [100 * v for v in history["accuracy"]], color=colour, marker="o", ms=3, label=f"{label} (train)")
            acc_ax.plot(epochs, [100 * v for v in history["test_accuracy"]], color=colour, ls="--", marker="o", ms=3, label=f"{label} (test)")
            loss_ax.plot(epochs, history["loss"], color=colour, marker="o", ms=3)
            loss_ax.plot(epochs, history["test_loss"], color=colour, ls="--", marker="o", ms=3)
        acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
        loss_ax.set(xlabel="epoch", ylabel="loss (cross-entropy)", title="Loss")
        acc_ax.legend()
    return figure


def write_curves(results: Sequence[TrainResult], path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Draw :func:`curves_figure` for ``results`` and write it to ``path`` (.png, .svg or .pdf)."""
    return save_figure(curves_figure(results, title=title), path)
