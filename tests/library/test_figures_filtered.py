"""The figure of ``digitzoo filter --side-by-side``: input, response and kernel, pixel for pixel."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from digitzoo.errors import ImageError, KernelError
from digitzoo.figures import figure_pixels, filter_figure, save_figure
from digitzoo.figures.filtered import panel_scale
from digitzoo.image.filters import filter_image, show_image
from digitzoo.image.io import read_image
from digitzoo.image.kernels import KERNELS, VERTICAL

from helpers import ROOT

CUP = ROOT / "assets" / "cup.jpg"


def _found_at(picture: np.ndarray, part: np.ndarray) -> tuple[int, int] | None:
    """(y, x) where ``part`` (gray or BGR) is in ``picture`` pixel for pixel, or None."""
    part = np.repeat(part[:, :, None], 3, axis=2) if part.ndim == 2 else part
    distance = cv2.matchTemplate(picture.astype(np.float32), part.astype(np.float32), cv2.TM_SQDIFF)
    x, y = cv2.minMaxLoc(distance)[2]  # the likeliest place; then checked exactly
    found = picture[y : y + part.shape[0], x : x + part.shape[1]]
    return (y, x) if np.array_equal(found, part) else None


@pytest.mark.slow
def test_the_cup_beside_its_vertical_edges_with_the_kernel(tmp_path):
    photo = read_image(CUP)
    result = filter_image(photo, VERTICAL)
    shown = show_image(photo)
    figure = filter_figure(shown, result.picture, kernel_name="vertical", kernel=VERTICAL, display=result.display,
                           image_name="cup.jpg")  # fmt: skip
    assert [ax.get_title() for ax in figure.axes] == ["cup.jpg", "vertical kernel, abs", "kernel 3×3"]
    kernel_axes = figure.axes[2]
    assert [t.get_text() for t in kernel_axes.texts] == ["1", "0", "-1"] * 3
    np.testing.assert_array_equal(kernel_axes.images[0].get_array(), VERTICAL)
    assert kernel_axes.get_xlabel() == "weights sum to 0\nflat areas give 0"

    picture = cv2.imread(str(save_figure(figure, tmp_path / "cup.png")))
    assert picture.shape == (450, 1402, 3)  # 600×400 twice at their own size, the kernel, titles, margins
    np.testing.assert_array_equal(figure_pixels(figure), picture)
    assert picture.std() > 20 and len(np.unique(picture.reshape(-1, 3), axis=0)) > 200
    # Both pictures are in the figure unchanged, left to right, at one height.
    left, right = _found_at(picture, shown), _found_at(picture, result.picture)
    assert left is not None and right is not None
    assert left[0] == right[0] and left[1] < right[1]


def test_a_small_color_image_is_enlarged_by_a_whole_factor_and_a_valid_response_is_smaller():
    _, cols = np.mgrid[0:30, 0:40]
    image = np.zeros((30, 40, 3), np.uint8)
    image[:, :, 2] = np.where(cols >= 15, 200, 40)  # red rises to the right
    result = filter_image(image, VERTICAL, border="valid", display="signed", color=True)
    assert panel_scale(30, 40) == 6.0
    figure = filter_figure(show_image(image, color=True), result.picture, kernel_name="vertical", kernel=VERTICAL,
                           display="signed", title="an edge")  # fmt: skip
    assert figure.get_suptitle() == "an edge"
    assert [ax.get_title() for ax in figure.axes] == ["input", "vertical kernel, signed", "kernel 3×3"]
    picture = figure_pixels(figure)
    enlarged = np.kron(result.picture, np.ones((6, 6, 1), np.uint8))
    assert enlarged.shape == (28 * 6, 38 * 6, 3)
    left = _found_at(picture, np.kron(image, np.ones((6, 6, 1), np.uint8)))
    right = _found_at(picture, enlarged)
    assert left is not None and right is not None and left[1] < right[1]


@pytest.mark.parametrize(("size", "scale"), [((400, 600), 1.0), ((3000, 4000), 0.3), ((1, 1), 240.0), ((239, 10), 2.0)])
def test_panel_scale(size, scale):
    assert panel_scale(*size) == scale


def test_large_kernels_are_a_heatmap_without_numbers():
    figure = filter_figure(np.zeros((10, 10), np.uint8), np.zeros((10, 10), np.uint8), kernel_name="blur-9",
                           kernel=np.ones((9, 9)) / 81)  # fmt: skip
    assert len(figure.axes[2].texts) == 0 and figure.axes[2].get_xlabel() == "weights sum to 1"
    blank = np.zeros((5, 5), np.uint8)
    blur = filter_figure(blank, blank, kernel_name="blur", kernel=KERNELS["gaussian-blur"]).axes[2]
    assert [t.get_text() for t in blur.texts][:3] == ["0.0625", "0.125", "0.0625"]


def test_pictures_and_kernel_are_checked_first():
    gray = np.zeros((4, 4), np.uint8)
    with pytest.raises(ImageError, match=r"response picture must be a uint8 gray \(H, W\) or BGR \(H, W, 3\) picture, "
                                         r"got float32 4×4"):  # fmt: skip
        filter_figure(gray, gray.astype(np.float32), kernel_name="k", kernel=VERTICAL)
    with pytest.raises(ImageError, match=r"image must be .* got uint8 4×4×4"):
        filter_figure(np.zeros((4, 4, 4), np.uint8), gray, kernel_name="k", kernel=VERTICAL)
    with pytest.raises(KernelError, match="odd height and width"):
        filter_figure(gray, gray, kernel_name="k", kernel=np.ones((2, 2)))
