"""A gallery of wrong predictions, each captioned "true → predicted  probability"."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DigitzooError
from .style import FONT, image_axes, new_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["mistakes_figure", "mistake_caption", "mistakes_size"]

#: Inches per digit in the grid (the caption sits above the digit), and for the title.
CELL_WIDTH, CELL_HEIGHT, TITLE_HEIGHT = 1.0, 1.2, 0.4


def mistake_caption(true: int, predicted: int, probability: float) -> str:
    """``"7 → 2  98%"``: the true digit, what the model read, and the probability it gave that."""
    return f"{int(true)} → {int(predicted)}  {probability:.0%}"


def mistakes_size(count: int, *, columns: int = 8, title: bool = False) -> tuple[float, float]:
    """Width and height in inches of :func:`mistakes_figure` for ``count`` mistakes."""
    columns = max(1, min(columns, count))
    rows = max(1, math.ceil(count / columns))
    return columns * CELL_WIDTH if count else 4.0, rows * CELL_HEIGHT + (TITLE_HEIGHT if title else 0.0)


def mistakes_figure(
    images: Any, true: Any, predicted: Any, probability: Any, *, columns: int = 8, title: str | None = None
) -> Figure:
    """A grid of digits (N, 28, 28), 0–255, ``columns`` wide, each captioned like "7 → 2  98%".

    ``true``, ``predicted`` and ``probability`` hold, per image, the true digit, the digit the
    model predicted and the probability it gave that prediction (0–1). They are shown in the
    order given (most confident first, as :func:`digitzoo.report.build_report` orders them).
    With no images the figure says there is no mistake to show.
    """
    pixels, true, predicted, probability = _check(images, true, predicted, probability, columns)
    count = len(pixels)
    width, height = mistakes_size(count, columns=columns, title=bool(title))
    figure = new_figure(width, height, title=title)
    with styled():
        if count == 0:
            ax = figure.subplots()
            ax.axis("off")
            ax.text(0.5, 0.5, "no wrong predictions", ha="center", va="center", fontsize=FONT + 1)
            return figure
        columns = min(columns, count)
        axes = np.atleast_1d(figure.subplots(math.ceil(count / columns), columns, squeeze=False)).ravel()
        for ax, image, t, p, q in zip(axes, pixels, true, predicted, probability):
            image_axes(ax, image, mistake_caption(t, p, q))
        for ax in axes[count:]:
            ax.axis("off")
    return figure


def _check(images: Any, true: Any, predicted: Any, probability: Any, columns: int):
    if isinstance(columns, bool) or not isinstance(columns, (int, np.integer)) or columns < 1:
        raise DigitzooError(f"columns must be a whole number >= 1, got {columns!r}")
    pixels = np.asarray(images)
    if pixels.ndim != 3 or pixels.shape[0] and pixels.shape[1:] != (28, 28):
        if not (pixels.ndim == 1 and pixels.size == 0):  # an empty list is no images
            raise DigitzooError(f"images must be (N, 28, 28) digits, got shape {pixels.shape}")
        pixels = pixels.reshape(0, 28, 28)
    columns_of = [np.asarray(values).reshape(-1) for values in (true, predicted, probability)]
    if any(len(values) != len(pixels) for values in columns_of):
        lengths = ", ".join(str(len(values)) for values in columns_of)
        raise DigitzooError(
            f"need one true digit, prediction and probability per image: {len(pixels)} images, got {lengths}"
        )
    return (pixels, *columns_of)
