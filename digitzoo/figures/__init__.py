"""Figures of digitzoo's results, drawn with matplotlib.

Every function takes results and returns a ``matplotlib.figure.Figure`` (or writes one with
:func:`save_figure`). Figures are made with matplotlib's object-oriented API and its Agg
renderer: no display, no pyplot state. matplotlib is imported inside the functions, so importing
this package costs nothing until a figure is drawn.
"""

from __future__ import annotations

from .confusion import confusion_figure
from .curves import curves_figure, write_curves
from .digits import digits_figure
from .filtered import figure_pixels, filter_figure
from .mistakes import mistakes_figure
from .reliability import reliability_figure
from .seeds import seeds_figure
from .stages import stages_figure
from .sweep import sweep_figure
from .style import check_figure_path, image_axes, new_figure, save_figure, styled

__all__ = [
    "new_figure",
    "styled",
    "image_axes",
    "save_figure",
    "check_figure_path",
    "curves_figure",
    "write_curves",
    "digits_figure",
    "confusion_figure",
    "mistakes_figure",
    "reliability_figure",
    "seeds_figure",
    "stages_figure",
    "sweep_figure",
    "filter_figure",
    "figure_pixels",
]
