"""Learning curves: train and test accuracy and loss after every epoch, for one model or several.

One column per model — accuracy above loss — with the y axes shared across columns, so that each
panel tells one model's story (curves climbing together, a widening gap, a low plateau) and the
models can still be compared by height. Train is solid and test dashed, in the model's colour;
the legend names each model with its diagnosis. Each column's epoch axis is its own: a model
trained 3 epochs is not squeezed into the first tenth of a 30-epoch axis.

The train curve is what Keras reports during training: the running average over each epoch's
batches (so the first epoch's is low); the test curve is the whole test set after each epoch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DigitzooError
from ..recipe import MNIST_TRAIN_SIZE
from .style import COLORS, new_figure, save_figure, styled

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..training import TrainResult

__all__ = ["curves_figure", "write_curves", "CURVES"]

#: The per-epoch series drawn, as ``TrainResult.history`` names them: (train, test) per quantity.
CURVES = {"accuracy": ("accuracy", "test_accuracy"), "loss": ("loss", "test_loss")}
#: Models per row of columns; more wrap onto further rows.
_COLUMNS = 5
_MARKER = {"marker": "o", "markersize": 3}


def curves_figure(results: Sequence[TrainResult], *, title: str | None = None) -> Figure:
    """Accuracy (%) and loss against epoch for every result: train solid, test dashed, one colour each.

    One result gets its accuracy and loss side by side; several get one column each (accuracy
    above loss, y axes shared, at most five columns a row). Every epoch is a marker, so a
    one-epoch run still shows its points. The lines' data are the history's values (accuracy in
    percent), in the order train, test; each panel's label (``Axes.get_label()``) is
    ``"accuracy: NAME"`` or ``"loss: NAME"``.
    """
    results = list(results)
    if not results:
        raise DigitzooError("learning curves need at least one trained model")
    for result in results:
        _check_history(result)
    single = len(results) == 1
    columns = 2 if single else min(len(results), _COLUMNS)
    blocks = 1 if single else math.ceil(len(results) / columns)
    width, height = (7.0, 3.2) if single else (2.4 * columns + 0.6, 4.6 * blocks + 0.6)
    figure = new_figure(width, height, title=title)
    with styled():
        grid = figure.subplots(1 if single else 2 * blocks, columns, squeeze=False)
        panels = []
        for i, result in enumerate(results):
            if single:
                acc_ax, loss_ax = grid[0]
            else:
                block, column = divmod(i, columns)
                acc_ax, loss_ax = grid[2 * block, column], grid[2 * block + 1, column]
            _draw(acc_ax, loss_ax, result, COLORS[i % len(COLORS)], single)
            panels.append((acc_ax, loss_ax))
        for i in range(len(results), 0 if single else blocks * columns):  # the last row's empty cells
            block, column = divmod(i, columns)
            grid[2 * block, column].remove()
            grid[2 * block + 1, column].remove()
        _share_y(panels, single)
        handles = _legend(results)
        figure.legend(handles=handles, loc="outside lower center", ncols=_legend_columns(handles, width), frameon=False)
    return figure


def write_curves(results: Sequence[TrainResult], path: str | os.PathLike, *, title: str | None = None) -> Path:
    """Draw :func:`curves_figure` for ``results`` and write it to ``path`` (.png, .svg or .pdf)."""
    return save_figure(curves_figure(results, title=title), path)


def _check_history(result: TrainResult) -> None:
    history = result.history or {}
    series = [history.get(name) for pair in CURVES.values() for name in pair]
    if not all(series) or len({len(s) for s in series}) != 1:
        raise DigitzooError(
            f"{result.name!r} has no per-epoch train and test history to draw "
            "(a result from before digitzoo recorded learning curves); train it again"
        )


def _draw(acc_ax: Axes, loss_ax: Axes, result: TrainResult, colour: str, single: bool) -> None:
    from matplotlib.ticker import MaxNLocator

    history = result.history
    epochs = list(range(1, len(history["loss"]) + 1))
    for ax, (quantity, (train, test)) in zip((acc_ax, loss_ax), CURVES.items()):
        scale = 100 if quantity == "accuracy" else 1
        ax.plot(epochs, [scale * v for v in history[train]], color=colour, **_MARKER)
        ax.plot(epochs, [scale * v for v in history[test]], color=colour, linestyle="--", **_MARKER)
        ax.set_label(f"{quantity}: {result.name}")  # not drawn; finds the panel (tests, callers)
        ax.set_xlabel("epoch")
        ax.set_xlim(0.5, len(epochs) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    size = "" if result.train_size == MNIST_TRAIN_SIZE else f" on {result.train_size:,} images"
    if single:
        acc_ax.set_title(f"accuracy{f' (trained{size})' if size else ''}")
        loss_ax.set_title("loss")
    else:
        acc_ax.set_title(f"{result.name}\n{result.epochs} epoch{'s' * (result.epochs != 1)}{size}", color=colour)
        acc_ax.set_xlabel("")


def _share_y(panels: list[tuple[Axes, Axes]], single: bool) -> None:
    """One accuracy and one loss scale for all columns; labels only on the left; 100 % on top."""
    first_acc, first_loss = panels[0]
    for acc_ax, loss_ax in panels[1:]:
        acc_ax.sharey(first_acc)
        loss_ax.sharey(first_loss)
    first_acc.autoscale(axis="y")  # over every shared panel's data, not only the first's
    first_loss.autoscale(axis="y")
    bottom, top = first_acc.get_ylim()
    first_acc.set_ylim(bottom, min(top, 100 + 0.02 * (100 - bottom)))
    columns = 2 if single else min(len(panels), _COLUMNS)
    for i, (acc_ax, loss_ax) in enumerate(panels):
        left = single or i % columns == 0
        acc_ax.set_ylabel("accuracy (%)" if left else "")
        loss_ax.set_ylabel("loss (cross-entropy)" if left else "")
        acc_ax.tick_params(labelleft=left)
        loss_ax.tick_params(labelleft=left)


def _legend(results: Sequence[TrainResult]) -> list:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=COLORS[i % len(COLORS)], label=f"{r.name} — {r.diagnosis}", **_MARKER)
        for i, r in enumerate(results)
    ]
    return handles + [
        Line2D([], [], color="0.3", label="train (mean during epoch)"),
        Line2D([], [], color="0.3", linestyle="--", label="test (end of epoch)"),
    ]


def _legend_columns(handles: list, width: float) -> int:
    """As many legend columns as fit in ``width`` inches (matplotlib fills the columns top-down)."""
    # An entry's width: handle, padding and spacing (about 0.5 in) and its text (~0.07 in a character).
    widths = [0.5 + 0.07 * len(handle.get_label()) for handle in handles]
    for columns in range(len(widths), 1, -1):
        rows = math.ceil(len(widths) / columns)
        if sum(max(widths[i : i + rows]) for i in range(0, len(widths), rows)) <= 0.95 * width:
            return columns
    return 1
