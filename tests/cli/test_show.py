"""Looking at digits: the per-class sample, the digits figure, and the terminal renderings."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from rich.console import Console

from digitzoo.data.subset import sample_per_class
from digitzoo.errors import DataError, DigitzooError
from digitzoo.figures import digits_figure, save_figure
from digitzoo_cli.show_cmd import digits_drawing, half_blocks, pixel_values


def _styles(text):
    """(character, foreground rgb, background rgb) of every cell of a rendered rich Text."""
    console = Console(width=200, color_system="truecolor", force_terminal=True)
    cells = []
    for line in text.split("\n"):
        row = []
        for segment in line.render(console):
            style = segment.style
            for char in segment.text:
                fg = style.color.get_truecolor() if style and style.color else None
                bg = style.bgcolor.get_truecolor() if style and style.bgcolor else None
                row.append((char, tuple(fg) if fg else None, tuple(bg) if bg else None))
        cells.append(row)
    return cells


def test_half_blocks_draw_the_upper_pixel_in_front_and_the_lower_behind():
    image = np.array([[0, 50, 255], [10, 200, 128], [7, 8, 9]], dtype=np.uint8)
    cells = _styles(half_blocks(image))
    assert [[c[0] for c in row] for row in cells] == [["▀"] * 3, ["▀"] * 3]  # 3 rows → 2 lines
    assert [(c[1][0], c[2][0]) for c in cells[0]] == [(0, 10), (50, 200), (255, 128)]
    assert all(fg[0] == fg[1] == fg[2] for _, fg, _ in cells[0])  # grey levels
    assert [c[1][0] for c in cells[1]] == [7, 8, 9]
    assert all(c[2] is None for c in cells[1])  # no lower row: the terminal's own background


def test_half_blocks_without_colour_mark_ink_of_each_pixel_pair():
    image = np.array([[0, 255, 0, 200], [0, 0, 128, 127]], dtype=np.uint8)
    assert half_blocks(image, color=False).plain == " ▀▄▀"
    assert half_blocks(np.full((28, 28), 255, np.uint8), color=False).plain == "\n".join(["█" * 28] * 14)


def test_half_blocks_refuse_what_is_not_a_picture():
    with pytest.raises(ValueError, match=r"image must be 2-D \(height × width\), got shape \(2, 2, 3\)"):
        half_blocks(np.zeros((2, 2, 3), np.uint8))


def test_pixel_values_are_right_aligned_rows_of_bytes():
    image = np.array([[0, 7, 255], [42, 0, 100]], dtype=np.uint8)
    assert pixel_values(image).plain == "  0   7 255\n 42   0 100"
    cells = _styles(pixel_values(image, color=True))
    assert {c[2] for c in cells[0][4:7]} == {(7, 7, 7)}  # a non-zero value is shown on its grey
    assert {c[2] for c in cells[0][8:11]} == {(255, 255, 255)} and cells[0][10][1] == (0, 0, 0)
    assert all(c[2] is None for c in cells[0][0:3])  # zero: no background


def test_digits_are_drawn_side_by_side_as_the_width_allows():
    images = np.zeros((3, 4, 14), np.uint8)
    images[1, :2] = 255
    drawing = digits_drawing(images, [1, 2, 3], [10, 11, 12], width=31, color=False).plain
    # 14-pixel digits with 2 columns between: two fit in 31 columns, the third starts a new row.
    assert drawing.split("\n") == [
        "#10  label 1    #11  label 2",
        " " * 16 + "█" * 14,
        "",
        "",
        "#12  label 3",
        "",
        "",
    ]


def test_a_sample_holds_count_random_examples_of_every_class_in_order():
    y = np.repeat(np.arange(10), 30)[np.random.default_rng(1).permutation(300)]
    picked = sample_per_class(y, 4, seed=2)
    assert picked.dtype == np.int64 and len(picked) == 40 and len(set(picked.tolist())) == 40
    assert y[picked].tolist() == [c for c in range(10) for _ in range(4)]
    assert all(np.all(np.diff(picked[k : k + 4]) > 0) for k in range(0, 40, 4))
    np.testing.assert_array_equal(sample_per_class(y, 4, seed=2), picked)
    assert not np.array_equal(sample_per_class(y, 4, seed=3), picked)


def test_a_sample_cannot_take_more_than_the_smallest_class_has():
    with pytest.raises(DataError, match="count must be a positive integer at most 2, got 3"):
        sample_per_class(np.array([0, 0, 1, 1, 1]), 3)
    with pytest.raises(DataError, match="count must be a positive integer at most 2, got 0"):
        sample_per_class(np.array([0, 0, 1, 1, 1]), 0)


def _drawn_digits(n):
    """n distinct 28×28 pictures: a bar at a different height in each."""
    images = np.zeros((n, 28, 28), np.uint8)
    for k in range(n):
        images[k, 2 + k % 24 : 6 + k % 24, 4:24] = 255
    return images


@pytest.mark.slow
def test_digits_figure_draws_every_digit_with_its_caption_on_the_fixed_scale(tmp_path):
    images, labels = _drawn_digits(12), np.arange(12) % 10
    figure = digits_figure(images, labels, captions=[f"c{k}" for k in range(12)], columns=4, title="twelve")
    axes = [ax for ax in figure.axes if ax.get_images()]
    assert len(axes) == 12 and len(figure.axes) == 12  # 3 full rows of 4
    assert [ax.get_xlabel() for ax in axes] == [f"c{k}" for k in range(12)]
    assert all(ax.get_images()[0].get_clim() == (0, 255) for ax in axes)
    np.testing.assert_array_equal(axes[5].get_images()[0].get_array(), images[5])
    picture = cv2.imread(str(save_figure(figure, tmp_path / "digits.png")))
    assert picture.shape[1] == 4 * 225  # 9 inches shared by 4 columns, at most 2.5 each
    assert picture.std() > 10 and len(np.unique(picture.reshape(-1, 3), axis=0)) > 5


def test_digits_figure_captions_default_to_labels_and_leaves_empty_cells_blank():
    figure = digits_figure(_drawn_digits(3), [7, 8, 9], columns=2)
    assert [ax.get_xlabel() for ax in figure.axes if ax.get_images()] == ["7", "8", "9"]
    assert len(figure.axes) == 4 and not figure.axes[3].axison


@pytest.mark.parametrize(
    ("images", "labels", "options", "message"),
    [
        (np.zeros((28, 28)), [1], {}, r"images must be a non-empty stack of 2-D pictures .*got shape \(28, 28\)"),
        (np.zeros((0, 28, 28)), [], {}, r"non-empty stack .*got shape \(0, 28, 28\)"),
        (np.zeros((2, 28, 28)), [1], {}, r"labels must hold one label per image \(2\), got shape \(1,\)"),
        (np.zeros((2, 28, 28)), [1, 2], {"captions": ["a"]}, r"captions must hold one caption per image \(2\), got 1"),
        (np.zeros((2, 28, 28)), [1, 2], {"columns": 0}, "columns must be a positive integer, got 0"),
    ],
)
def test_digits_figure_refuses_inputs_that_do_not_fit(images, labels, options, message):
    with pytest.raises(DigitzooError, match=message):
        digits_figure(images, labels, **options)
