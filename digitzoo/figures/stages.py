"""What the photo pipeline saw: one figure of an image's stages and the 28×28 digits it made."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DigitzooError
from .style import COLORS, DPI, FONT, image_axes, new_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..image.digits import DigitStages
    from ..predict import DigitGuess

__all__ = ["stages_figure", "STAGE_TITLES"]

#: The three whole-image stages, in the pipeline's order, as their panels are titled.
STAGE_TITLES = (
    "1 gray",
    "2 ink: paper taken away",
    "3 binary: the digits' boxes",
)
# A stage panel's longer side at most, in px (the pipeline works on up to 1200 px): a row fills the
# width of a page, a single digit's three stages share it.
_STACKED_PX = 640
_SIDE_PX = 320
_DIGIT_IN = 1.05  # inches per 28×28 digit panel
_WIDE = 1.6  # images at least this much wider than tall get their stages stacked, one a row
_BOX_COLOR = COLORS[3]


def stages_figure(
    stages: DigitStages, *, guesses: Sequence[DigitGuess] | None = None, title: str | None = None
) -> Figure:
    """The pipeline's stages of one image: gray, ink, binary with each digit's box, then every 28×28.

    ``stages`` is what :func:`digitzoo.image.digit_stages` returns. With ``guesses`` (one per
    digit, as :class:`digitzoo.predict.Prediction` holds them) each digit's caption gives the
    digit read and its probability. Wide images (a row of digits) have their stages stacked, others
    side by side. The 28×28 panels are labelled ``digit-K`` (``Axes.get_label()``), K from 1.
    """
    if guesses is not None and len(guesses) != len(stages.digits):
        raise DigitzooError(f"one guess per digit needed: {len(stages.digits)} digits, {len(guesses)} guesses")
    height, width = stages.gray.shape[:2]
    stacked = width >= _WIDE * height
    scale = min(1.0, (_STACKED_PX if stacked else _SIDE_PX) / max(height, width))
    panel_w = max(width * scale / DPI, 2.4 if stacked else 2.0)
    panel_h = panel_w * height / width + 0.3  # + the title
    if stacked:
        top_w, top_h, rows, cols = panel_w, 3 * panel_h, 3, 1
    else:
        top_w, top_h, rows, cols = 3 * panel_w, panel_h, 1, 3
    count = len(stages.digits)
    fig_w = max(top_w + 0.3, 4.0)
    per_row = max(1, min(count, int(fig_w // _DIGIT_IN)))
    digit_rows = -(-count // per_row) if count else 0
    digits_h = digit_rows * (_DIGIT_IN + (0.35 if guesses is not None else 0.2)) + 0.3
    fig_h = top_h + digits_h + (0.45 if title else 0.15)

    figure = new_figure(fig_w, fig_h, title=title)
    with styled():
        top, bottom = figure.subfigures(2, 1, height_ratios=[top_h, digits_h])
        axes = top.subplots(rows, cols, squeeze=False).ravel()
        for ax, name, picture in zip(axes, STAGE_TITLES, (stages.gray, stages.ink, stages.binary)):
            image_axes(ax, _shrunk(picture, scale), name)
        _draw_boxes(axes[2], stages.boxes, scale)
        bottom.suptitle("4 the 28×28 digits the model sees", fontsize=FONT + 1, fontweight="normal")
        if count:
            grid = bottom.subplots(digit_rows, per_row, squeeze=False).ravel()
            for k, (ax, digit) in enumerate(zip(grid, stages.digits), start=1):
                caption = f"#{k}"
                if guesses is not None:
                    caption += f": {guesses[k - 1].digit} ({guesses[k - 1].confidence:.1%})"
                image_axes(ax, digit, caption)
                ax.set_label(f"digit-{k}")
            for ax in grid[count:]:
                ax.set_visible(False)
    return figure


def _shrunk(picture: np.ndarray, scale: float) -> np.ndarray:
    """``picture`` scaled by ``scale`` <= 1 with area averaging: thin strokes stay visible, as
    they would not if the renderer dropped pixels."""
    if scale >= 1.0:
        return picture
    import cv2

    size = (max(1, round(picture.shape[1] * scale)), max(1, round(picture.shape[0] * scale)))
    return cv2.resize(picture, size, interpolation=cv2.INTER_AREA)


def _draw_boxes(ax, boxes: Sequence[tuple[int, int, int, int]], scale: float) -> None:
    from matplotlib.patches import Rectangle

    for k, (x, y, w, h) in enumerate(boxes, start=1):
        x, y, w, h = (v * scale for v in (x, y, w, h))
        # Pixel (0, 0) covers -0.5..0.5 in image coordinates: the box is drawn around whole pixels.
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, edgecolor=_BOX_COLOR, linewidth=1.5))
        ax.text(x - 0.5, y - 1.5, f"#{k}", color=_BOX_COLOR, fontsize=FONT, fontweight="bold", va="bottom")
