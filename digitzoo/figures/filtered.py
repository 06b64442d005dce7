"""A filtered image beside its input, with the kernel that made it: the vertical-edge lesson."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ImageError
from ..image.kernels import check_kernel
from .style import COLORS, DPI, FONT, image_axes, new_figure, styled

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["filter_figure", "figure_pixels", "panel_scale"]

_LARGEST = 1200  # px: a longer side beyond this is shrunk in the figure (the plain output keeps it)
_SMALLEST = 240  # px: a longer side below this is enlarged by a whole factor, pixels kept square
_PAD, _GAP = 12, 24  # px around the figure and between panels
_TITLE_PX, _SUPTITLE_PX = 26, 30  # px above a panel for its title, above all for the figure's
_KERNEL_PX = 150  # px of the kernel's longer side, about (whole pixels per weight)
_NUMBERS_UP_TO = 7  # kernels this size or smaller show their weights as numbers


def panel_scale(height: int, width: int) -> float:
    """How much a picture of ``height`` × ``width`` is scaled in :func:`filter_figure`.

    1 (one image pixel = one figure pixel) unless its longer side is over 1200 px (shrunk to 1200)
    or under 240 px (enlarged by the smallest whole factor that reaches 240).
    """
    longer = max(height, width)
    if longer > _LARGEST:
        return _LARGEST / longer
    if longer < _SMALLEST:
        return float(math.ceil(_SMALLEST / longer))
    return 1.0


def filter_figure(
    image: np.ndarray,
    response_picture: np.ndarray,
    *,
    kernel_name: str,
    kernel: np.ndarray,
    display: str | None = None,
    image_name: str = "input",
    title: str | None = None,
) -> Figure:
    """The input and its filtered response side by side, titled, with the kernel's weights beside them.

    ``image`` and ``response_picture`` are uint8 pictures, gray or BGR, as
    :func:`digitzoo.image.filters.show_image` and :class:`~digitzoo.image.filters.FilterResult`'s
    ``picture`` give them (the response may be smaller: border 'valid'). The panels are titled
    ``image_name`` and "KERNEL_NAME kernel, DISPLAY". The figure is at the images' own scale, pixel
    for pixel, so nothing is blurred: see :func:`panel_scale` for very large and very small images.
    The kernel is a small heatmap, green positive and red negative (as ``digitzoo filter --demo``
    colours them), with its weights written in the cells when it is at most 7×7.
    """
    for what, picture in (("image", image), ("response picture", response_picture)):
        _check_picture(picture, what)
    kernel = check_kernel(kernel).astype(np.float64)
    scale = panel_scale(*image.shape[:2])
    left, right = _scaled(image, scale), _scaled(response_picture, scale)
    cell = max(1, min(40, _KERNEL_PX // max(kernel.shape)))
    kernel_w, kernel_h = kernel.shape[1] * cell, kernel.shape[0] * cell
    kernel_column = max(kernel_w, 130)
    caption_px = 40
    body = max(left.shape[0], right.shape[0], kernel_h + _TITLE_PX + caption_px)
    top = _SUPTITLE_PX if title else 0
    width = _PAD + left.shape[1] + _GAP + right.shape[1] + _GAP + kernel_column + _PAD
    height = _PAD + top + _TITLE_PX + body + _PAD

    figure = new_figure(width / DPI, height / DPI, title=title)
    figure.set_layout_engine("none")  # every panel placed to the pixel, so images stay 1:1
    response_title = f"{kernel_name} kernel" + (f", {display}" if display else "")
    with styled():
        x = _PAD
        for picture, name in ((left, image_name), (right, response_title)):
            y = _PAD + (body - picture.shape[0]) // 2  # from the bottom, centred in the body
            image_axes(_axes(figure, x, y, picture.shape[1], picture.shape[0], width, height), picture, name)
            x += picture.shape[1] + _GAP
        y = _PAD + caption_px + (body - caption_px - _TITLE_PX - kernel_h) // 2
        x += (kernel_column - kernel_w) // 2
        _kernel_axes(_axes(figure, x, y, kernel_w, kernel_h, width, height), kernel)
    return figure


def _check_picture(picture: np.ndarray, what: str) -> None:
    shape = getattr(picture, "shape", ())
    gray_or_bgr = len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3))
    if getattr(picture, "dtype", None) != np.uint8 or not gray_or_bgr or 0 in shape:
        kind = type(picture).__name__
        if isinstance(picture, np.ndarray):
            kind = f"{picture.dtype} {'×'.join(map(str, shape))}"
        raise ImageError(f"{what} must be a uint8 gray (H, W) or BGR (H, W, 3) picture, got {kind}")


def figure_pixels(figure: Figure) -> np.ndarray:
    """``figure`` drawn at its own size: (H, W, 3) uint8 BGR, for the image writers that take OpenCV's order."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[:, :, 2::-1])


def _scaled(picture: np.ndarray, scale: float) -> np.ndarray:
    """``picture`` as BGR resized by ``scale``: averaged when shrinking, whole pixels repeated when enlarging."""
    if picture.ndim == 2 or picture.shape[2] == 1:
        # As BGR: matplotlib's gray colour map is off by one for some levels, three channels are shown as they are.
        picture = np.repeat(picture.reshape(picture.shape[:2] + (1,)), 3, axis=2)
    if scale == 1.0:
        return picture
    import cv2

    size = (max(1, round(picture.shape[1] * scale)), max(1, round(picture.shape[0] * scale)))
    method = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_NEAREST
    return cv2.resize(picture, size, interpolation=method)


def _axes(figure: Figure, x: int, y: int, w: int, h: int, width: int, height: int) -> Axes:
    """Axes at pixel ``x``, ``y`` (from the bottom left) of size ``w`` × ``h`` in a ``width`` × ``height`` figure."""
    return figure.add_axes((x / width, y / height, w / width, h / height))


def _kernel_axes(ax: Axes, kernel: np.ndarray) -> None:
    from matplotlib.colors import LinearSegmentedColormap

    peak = float(np.abs(kernel).max()) or 1.0
    colours = LinearSegmentedColormap.from_list("signed", [COLORS[3], "#ffffff", COLORS[2]])
    ax.imshow(kernel, cmap=colours, vmin=-peak, vmax=peak, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#999999")
    ax.set_title(f"kernel {kernel.shape[0]}×{kernel.shape[1]}", fontsize=FONT)
    if max(kernel.shape) <= _NUMBERS_UP_TO:
        for (row, column), value in np.ndenumerate(kernel):
            colour = "white" if abs(value) > 0.6 * peak else "black"
            ax.text(column, row, _number(value), ha="center", va="center", color=colour, fontsize=FONT)
    total = float(kernel.sum())
    ax.set_xlabel(f"weights sum to {_number(total)}" + ("\nflat areas give 0" if abs(total) < 1e-9 else ""))


def _number(value: float) -> str:
    """Integers without '.0', others to 3 significant digits."""
    value = float(value)
    if abs(value) < 1e-12:
        return "0"
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.3g}"
