"""A grid of digits with their captions: a look at the data, as the tutorial's first ``imshow``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DigitzooError
from .style import FONT, TITLE, image_axes, new_figure, styled

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["digits_figure"]

#: Columns when the caller chooses none: a row of MNIST's ten classes.
DEFAULT_COLUMNS = 10
#: Width of one digit's panel in inches: 9 inches shared by the columns, within these bounds
#: (a lone digit is not drawn a page wide, a hundred stay recognisable).
_PANEL_INCHES = (0.8, 2.5)
_ROW_WIDTH_INCHES = 9.0
#: Height of a caption line and of the figure title, in inches.
_CAPTION_INCHES = 1.6 * FONT / 72
_TITLE_INCHES = 2.2 * TITLE / 72


def digits_figure(
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    captions: Sequence[str] | None = None,
    columns: int | None = None,
    title: str | None = None,
) -> Figure:
    """A grid of gray ``images`` (n × height × width, 0 black … 255 white), each captioned.

    Each image is drawn on the fixed 0–255 scale (:func:`~digitzoo.figures.image_axes`), left to
    right and top to bottom, ``columns`` to a row (default: all of them, at most 10). The caption
    under an image is ``captions[i]`` if given, else its label. Raises ``DigitzooError`` for
    images that are not a stack of 2-D pictures or counts that do not match.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape[0] == 0:
        raise DigitzooError(
            f"images must be a non-empty stack of 2-D pictures (n × height × width), got shape {images.shape}"
        )
    count = images.shape[0]
    if labels.shape != (count,):
        raise DigitzooError(f"labels must hold one label per image ({count}), got shape {labels.shape}")
    if captions is None:
        captions = [str(label) for label in labels.tolist()]
    elif len(captions) != count:
        raise DigitzooError(f"captions must hold one caption per image ({count}), got {len(captions)}")
    if columns is None:
        columns = min(count, DEFAULT_COLUMNS)
    elif isinstance(columns, bool) or not isinstance(columns, (int, np.integer)) or columns < 1:
        raise DigitzooError(f"columns must be a positive integer, got {columns!r}")
    columns = min(int(columns), count)
    rows = math.ceil(count / columns)

    panel = min(max(_ROW_WIDTH_INCHES / columns, _PANEL_INCHES[0]), _PANEL_INCHES[1])
    aspect = images.shape[1] / images.shape[2]
    width = columns * panel
    height = rows * (panel * aspect + _CAPTION_INCHES) + (_TITLE_INCHES if title else 0)
    figure = new_figure(width, height, title=title)
    with styled():
        grid = figure.subplots(rows, columns, squeeze=False)
        for i, ax in enumerate(grid.flat):
            if i < count:
                image_axes(ax, images[i])
                ax.set_xlabel(captions[i], fontsize=FONT, labelpad=2)
            else:
                ax.set_axis_off()
    figure.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.02, hspace=0.02)
    return figure
