"""Uneven light and bold strokes: the ink map measures the same ink the same everywhere."""

from __future__ import annotations

import numpy as np
import pytest

from digitzoo.image.digits import digit_stages, segment_digits

cv2 = pytest.importorskip("cv2")


def _bar_digit() -> np.ndarray:
    """A plain 28×28 '1': a vertical bar, white on black as in MNIST."""
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255
    return digit


def _two_in_a_row(digit: np.ndarray, size: int = 120, gap: int = 80, pad: int = 60) -> np.ndarray:
    """Two copies of ``digit`` side by side: coverage in [0, 1]."""
    big = cv2.resize(digit, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    coverage = np.zeros((size + 2 * pad, 2 * size + gap + 2 * pad), np.float32)
    coverage[pad : pad + size, pad : pad + size] = big
    coverage[pad : pad + size, pad + size + gap : pad + 2 * size + gap] = big
    return coverage


def test_a_digit_in_shadow_comes_out_as_strong_as_one_in_full_light():
    coverage = _two_in_a_row(_bar_digit())
    light = np.ones_like(coverage)
    light[:, : coverage.shape[1] // 2] = 0.35  # the left half in deep shadow
    light = cv2.GaussianBlur(light, (0, 0), 15)
    paper, ink = 0.95, 0.15
    photo = ((paper * (1 - coverage) + ink * coverage) * light * 255).astype(np.uint8)
    shadowed, lit = segment_digits(photo)  # subtracting the paper alone lost the shadowed one
    # Same ink, same strength: light multiplies paper and ink alike. (The sums differ by a pixel
    # of anti-aliased rim on a bar 4 px wide in the 28×28 result.)
    assert min(shadowed.max(), lit.max()) >= 240
    assert abs(int(shadowed.sum()) - int(lit.sum())) < 0.25 * lit.sum()


@pytest.mark.parametrize("board", [False, True], ids=["ink-on-paper", "chalk-on-a-board"])
def test_the_inside_of_a_stroke_wider_than_the_paper_window_is_ink(board):
    # A narrow photo (its short side is what the paper estimate's window scales with) and a bar
    # a third of that side wide: the first, median, estimate of the paper follows the bar.
    coverage = np.zeros((400, 100), np.float32)
    coverage[80:320, 34:67] = 1.0
    paper, ink = (0.1, 0.4) if board else (0.95, 0.3)
    photo = ((paper * (1 - coverage) + ink * coverage) * 255).astype(np.uint8)
    stages = digit_stages(photo, multi=False)
    assert stages.binary[80:320, 36:65].all(), "the bar's inside was taken for paper"
    assert stages.ink[90:310, 38:63].min() > 200
    digit = stages.digits[0]
    assert digit[6:22, 13:15].min() > 200


def _photo(coverage: np.ndarray, paper: float = 0.95, ink: float = 0.15) -> np.ndarray:
    return ((paper * (1 - coverage) + ink * coverage) * 255).astype(np.uint8)


def test_faint_ink_joined_to_a_stroke_stays_with_it():
    # A 7: a firm top bar and a stem drawn faintly (a pen running dry), touching the bar.
    coverage = np.zeros((300, 300), np.float32)
    coverage[60:80, 80:220] = 1.0
    for y in range(80, 250):
        x = 200 - (y - 80) // 3
        coverage[y, x : x + 14] = 0.35
    stages = digit_stages(_photo(coverage), multi=None)
    assert stages.columns == 1
    x, y, w, h = stages.boxes[0]
    assert y <= 60 and y + h >= 249, "the faint stem was cut from the digit"


def test_faint_ink_apart_from_the_strokes_is_not_ink():
    coverage = np.zeros((300, 300), np.float32)
    coverage[60:240, 140:160] = 1.0  # a firm 1
    coverage[120:180, 230:250] = 0.2  # a faint smudge beside it, touching nothing
    stages = digit_stages(_photo(coverage), multi=None)
    assert not stages.binary[:, 200:].any()
    assert stages.columns == 1 and stages.boxes[0][0] + stages.boxes[0][2] <= 165


def test_the_centre_of_mass_lands_on_14_14_within_a_tenth_of_a_pixel():
    coverage = np.zeros((300, 300), np.float32)
    coverage[50:250, 120:151] = 1.0  # a bar 31 px wide: whole-pixel shifts leave it off by up to 0.5
    coverage[50:80, 100:151] = 1.0
    digit = digit_stages(_photo(coverage), multi=False).digits[0].astype(np.float64)
    rows, cols = np.indices(digit.shape)
    assert abs((rows * digit).sum() / digit.sum() - 14) < 0.1
    assert abs((cols * digit).sum() / digit.sum() - 14) < 0.1
