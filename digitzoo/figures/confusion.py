"""The confusion matrix: which digit the model read for each true digit, counts in the cells."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DigitzooError
from .style import FONT, new_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["confusion_figure", "row_shares", "ZERO_COLOR"]

#: Figure size in inches: square cells, with room for the colour bar.
WIDTH, HEIGHT = 6.4, 5.6
# Cells whose share is above this are dark in the colour map: their count is written in white.
_DARK = 0.5
#: Zero counts are written in light grey, so that the few mistakes of a good model stand out.
ZERO_COLOR = "#b0b0b0"


def row_shares(matrix: Any) -> np.ndarray:
    """Each cell's share of its row (of the true digit's images); a row with no images is all 0."""
    counts = _check_matrix(matrix).astype(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def confusion_figure(matrix: Any, *, title: str | None = None) -> Figure:
    """The confusion matrix ``matrix`` (rows: true digit, columns: predicted digit) as a figure.

    Each cell shows its count (zeros in light grey); its colour is the count's share of the row,
    so a rare digit's mistakes stand out as much as a common one's and the diagonal reads as
    recall.
    """
    counts = _check_matrix(matrix)
    shares = row_shares(counts)
    n = len(counts)
    figure = new_figure(WIDTH, HEIGHT, title=title)
    with styled():
        ax = figure.subplots()
        image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        size = FONT if counts.max() < 1000 else FONT - 1
        for (row, column), count in np.ndenumerate(counts):
            colour = "white" if shares[row, column] > _DARK else ("black" if count else ZERO_COLOR)
            ax.text(column, row, f"{count:d}", ha="center", va="center", color=colour, fontsize=size)
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xlabel("predicted digit")
        ax.set_ylabel("true digit")
        ax.xaxis.set_label_position("top")
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = figure.colorbar(image, ax=ax, shrink=0.8)
        bar.set_label("share of the true digit's test images")
        bar.ax.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    return figure


def _check_matrix(matrix: Any) -> np.ndarray:
    counts = np.asarray(matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.size == 0:
        raise DigitzooError(f"a confusion matrix must be square, got shape {counts.shape}")
    if not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        raise DigitzooError(f"a confusion matrix holds counts (whole numbers >= 0), got dtype {counts.dtype}")
    return counts
