"""One look for every figure: sizes, fonts, colours, image panels, and how a figure is saved."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DigitzooError
from ..files import atomic_path, check_writable_folder

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "FONT",
    "TITLE",
    "COLORS",
    "FIGURE_SUFFIXES",
    "new_figure",
    "styled",
    "image_axes",
    "save_figure",
    "check_figure_path",
]

DPI = 100
#: Font sizes in points: axis labels and captions, and titles.
FONT = 9
TITLE = 11
#: One colour per model or series, in order (matplotlib's "tab10", which colour-blind readers
#: can tell apart better than most).
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_RC = {
    "font.size": FONT,
    "axes.titlesize": FONT + 1,
    "axes.labelsize": FONT,
    "legend.fontsize": FONT - 1,
    "xtick.labelsize": FONT - 1,
    "ytick.labelsize": FONT - 1,
    "figure.titlesize": TITLE,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "savefig.facecolor": "white",
}


def new_figure(width: float, height: float, *, title: str | None = None) -> Figure:
    """A white figure of ``width`` × ``height`` inches with digitzoo's fonts, laid out as it grows."""
    import matplotlib
    from matplotlib.figure import Figure

    with styled():
        figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        if title:
            figure.suptitle(title)
    return figure


def styled():
    """Context in which the axes and artists made get digitzoo's look: draw a figure inside it.

    matplotlib reads its settings when an artist is made, so the whole drawing, not only
    :func:`new_figure`, happens in this context.
    """
    import matplotlib

    return matplotlib.rc_context(_RC)


def image_axes(ax: Axes, image: np.ndarray, title: str | None = None, *, vmin: float = 0, vmax: float = 255, **imshow: Any) -> Axes:
    """Show a uint8 picture (gray, or BGR as OpenCV gives it) in ``ax``: square pixels, no ticks.

    Gray pictures are drawn on the fixed 0–255 scale (black to white), as the tutorial's
    ``plt.imshow(X_train[0], cmap="gray")`` draws MNIST, so a faint digit looks faint.
    """
    pixels = np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[2] >= 3:
        ax.imshow(pixels[..., 2::-1], interpolation="nearest", **imshow)  # BGR → RGB
    else:
        ax.imshow(pixels, cmap=imshow.pop("cmap", "gray"), vmin=vmin, vmax=vmax, interpolation="nearest", **imshow)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title is not None:
        ax.set_title(title, fontsize=FONT)
    return ax


_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: The file name endings a figure can be written to.
FIGURE_SUFFIXES = tuple(_FORMATS)


def _figure_kind(path: Path) -> str:
    try:
        return _FORMATS[path.suffix.lower()]
    except KeyError:
        raise DigitzooError(f"cannot write a figure as {path.name!r}: use a .png, .svg or .pdf file name") from None


def check_figure_path(path: str | os.PathLike) -> Path:
    """Raise ``DigitzooError`` unless :func:`save_figure` could write a figure to ``path``.

    The same rules (a .png, .svg or .pdf name; a folder that can be made and written), checked
    before the work whose figure it is: a typo should not cost a training. Makes the folder if
    needed, then creates and removes a temporary file beside ``path``.
    """
    path = Path(path)
    _figure_kind(path)
    if path.is_dir():
        raise DigitzooError(f"cannot write a figure to {path}: it is a folder")
    try:
        check_writable_folder(path.parent)
    except OSError as exc:
        raise DigitzooError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def save_figure(figure: Figure, path: str | os.PathLike) -> Path:
    """Write ``figure`` to ``path`` (.png, .svg or .pdf) atomically: all of it or nothing."""
    path = Path(path)
    kind = _figure_kind(path)
    try:
        with atomic_path(path, suffix=path.suffix) as tmp:
            figure.savefig(tmp, format=kind, dpi=DPI)
    except OSError as exc:
        raise DigitzooError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
