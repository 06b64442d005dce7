"""The figure of the photo pipeline's stages (``predict --debug``, ``assets/digits/row-stages.png``)."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from digitzoo.errors import DigitzooError
from digitzoo.figures import save_figure, stages_figure
from digitzoo.figures.stages import STAGE_TITLES
from digitzoo.predict import DigitGuess, read_digits

from helpers import PHOTOS



def _digit_panels(figure):
    return [ax for ax in figure.axes if ax.get_label().startswith("digit-")]


def _not_blank(picture: np.ndarray) -> None:
    assert picture.std() > 20
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 50  # gray levels, the red boxes, text


@pytest.mark.slow
def test_a_row_has_its_stages_stacked_and_one_panel_per_digit(tmp_path):
    stages = read_digits(PHOTOS / "row-0000-50287.jpg", multi=True)
    assert len(stages.digits) == 5
    guesses = [DigitGuess(d, p, [(d, p)]) for d, p in zip([5, 0, 2, 8, 7], [0.99, 0.5, 0.875, 1.0, 0.25])]
    figure = stages_figure(stages, guesses=guesses, title="row-0000-50287.jpg")
    path = save_figure(figure, tmp_path / "stages.png")
    picture = cv2.imread(str(path))
    width, height = figure.get_size_inches() * figure.dpi
    assert picture.shape == (round(height), round(width), 3)
    _not_blank(picture)

    panels = _digit_panels(figure)
    assert [ax.get_label() for ax in panels] == [f"digit-{k}" for k in range(1, 6)]
    assert [ax.get_title() for ax in panels] == ["#1: 5 (99.0%)", "#2: 0 (50.0%)", "#3: 2 (87.5%)", "#4: 8 (100.0%)",
                                                 "#5: 7 (25.0%)"]  # fmt: skip
    for ax, digit in zip(panels, stages.digits):
        np.testing.assert_array_equal(ax.images[0].get_array(), digit)  # the 28×28 the model got, unchanged
    gray, ink, binary = (next(ax for ax in figure.axes if ax.get_title() == name) for name in STAGE_TITLES)
    assert gray.get_position().y0 > ink.get_position().y0 > binary.get_position().y0  # stacked: a wide row
    assert len(binary.patches) == 5 and [t.get_text() for t in binary.texts] == ["#1", "#2", "#3", "#4", "#5"]
    # Boxes drawn where the pipeline found the digits, in the panel's pixels (the photo is not shrunk).
    assert stages.gray.shape[1] <= 640
    x, y, w, h = stages.boxes[0]
    box = binary.patches[0]
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (x - 0.5, y - 0.5, w, h)


def test_one_digit_has_its_stages_side_by_side_and_no_captions_without_guesses(tmp_path):
    stages = read_digits(PHOTOS / "single-0000-1.jpg")
    figure = stages_figure(stages)
    picture = cv2.imread(str(save_figure(figure, tmp_path / "one.png")))
    _not_blank(picture)
    assert [ax.get_title() for ax in _digit_panels(figure)] == ["#1"]
    rows = {round(ax.get_position().y0, 3) for ax in figure.axes if ax.get_title() in STAGE_TITLES}
    assert len(rows) == 1


def test_a_large_photo_is_shrunk_in_the_figure_and_its_boxes_with_it():
    photo = cv2.imread(str(PHOTOS / "single-0001-8.jpg"))
    stages = read_digits(cv2.resize(photo, None, fx=4, fy=4))  # the pipeline keeps up to 1200 px
    figure = stages_figure(stages)
    binary = next(ax for ax in figure.axes if ax.get_title() == STAGE_TITLES[2])
    shown = binary.images[0].get_array()
    assert max(shown.shape) == 320 < max(stages.binary.shape)
    scale = shown.shape[1] / stages.binary.shape[1]
    assert binary.patches[0].get_width() == pytest.approx(stages.boxes[0][2] * scale, rel=0.01)


def test_guesses_must_match_the_digits():
    stages = read_digits(PHOTOS / "single-0000-1.jpg")
    with pytest.raises(DigitzooError, match="one guess per digit needed: 1 digits, 2 guesses"):
        stages_figure(stages, guesses=[DigitGuess(1, 0.9, []), DigitGuess(2, 0.1, [])])
