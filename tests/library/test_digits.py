"""Photos → MNIST-style digits: cases whose right answer is known by construction."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from digitzoo.errors import ImageError
from digitzoo.image.digits import digit_stages, preprocess_digit, segment_digits

from helpers import PHOTOS

cv2 = pytest.importorskip("cv2")


def _on_paper(digit: np.ndarray, size: int = 200, canvas: tuple[int, int] = (600, 500), at=(150, 100)) -> np.ndarray:
    """An MNIST digit drawn black on a white page, ``size`` pixels high."""
    page = np.full(canvas, 255, np.uint8)
    big = cv2.resize(digit, (size, size), interpolation=cv2.INTER_CUBIC)
    y, x = at
    page[y : y + size, x : x + size] = 255 - big
    return page


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


@pytest.mark.slow
def test_mnist_digit_on_a_white_page_comes_back(mnist_test):
    x, _ = mnist_test
    correlations = []
    for digit in x[:50]:
        out = preprocess_digit(_on_paper(digit))
        assert out.shape == (28, 28) and out.dtype == np.uint8
        cy, cx = _centre_of_mass(out)
        assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
        correlations.append(_correlation(out, digit))
    assert np.mean(correlations) > 0.9
    assert min(correlations) > 0.5


def test_fitted_into_a_20_pixel_box(mnist_test):
    out = preprocess_digit(_on_paper(mnist_test[0][0], size=350, canvas=(900, 700), at=(300, 200)))
    rows, cols = np.flatnonzero(out.max(axis=1) > 40), np.flatnonzero(out.max(axis=0) > 40)
    assert 18 <= max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 21


def test_chalk_on_a_board_reads_like_ink_on_paper(mnist_test):
    digit = mnist_test[0][3]
    paper = preprocess_digit(_on_paper(digit))
    board = preprocess_digit(255 - _on_paper(digit) // 2 - 100)  # light strokes on a dark gray board
    assert _correlation(paper, board) > 0.95


def test_uneven_light_noise_and_colour_do_not_matter(mnist_test):
    digit = mnist_test[0][5]
    page = _on_paper(digit).astype(np.float32) / 255
    gradient = np.linspace(1.0, 0.55, page.shape[1])[None, :] * np.linspace(1.0, 0.8, page.shape[0])[:, None]
    noisy = page * gradient + np.random.default_rng(0).normal(0, 0.02, page.shape)
    colour = np.clip(np.stack([noisy * 0.9 + 0.1 * (1 - page), noisy * 0.8, noisy * 0.7], axis=2), 0, 1)
    photo = cv2.GaussianBlur((colour * 255).astype(np.uint8), (5, 5), 1.5)
    ok, jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 55])
    photo = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert _correlation(preprocess_digit(photo), preprocess_digit(_on_paper(digit))) > 0.9


def test_transparent_png_is_composited_over_white(mnist_test):
    digit = mnist_test[0][7]
    alpha = cv2.resize(digit, (120, 120), interpolation=cv2.INTER_CUBIC)
    bgra = np.zeros((200, 200, 4), np.uint8)  # black everywhere; only alpha says where the ink is
    bgra[40:160, 40:160, 3] = alpha
    expected = preprocess_digit(_on_paper(digit, size=120, canvas=(200, 200), at=(40, 40)))
    assert _correlation(preprocess_digit(bgra), expected) > 0.95


@pytest.mark.parametrize(
    "image",
    [
        np.full((100, 100), 255, np.uint8),
        np.zeros((50, 80, 3), np.uint8),
        np.clip(np.random.default_rng(1).normal(200, 4, (300, 300)), 0, 255).astype(np.uint8),
        np.full((64, 64, 4), 0, np.uint8),  # fully transparent
    ],
    ids=["white", "black", "plain-paper-noise", "transparent"],
)
def test_no_ink_is_a_clear_error(image):
    with pytest.raises(ImageError, match="no ink found in the image"):
        preprocess_digit(image)


def test_specks_are_dropped(mnist_test):
    digit = mnist_test[0][1]
    page = _on_paper(digit)
    for y, x in [(20, 20), (580, 480), (30, 450), (500, 40)]:
        page[y : y + 3, x : x + 3] = 0
    assert _correlation(preprocess_digit(page), preprocess_digit(_on_paper(digit))) > 0.98


def _row(digits, heights, gap=40, pad=60, ink_on=True):
    width = sum(heights) + gap * (len(digits) - 1) + 2 * pad
    page = np.full((max(heights) + 2 * pad, width), 255, np.uint8)
    x = pad
    for digit, h in zip(digits, heights):
        big = cv2.resize(digit, (h, h), interpolation=cv2.INTER_CUBIC)
        page[pad : pad + h, x : x + h] = np.minimum(page[pad : pad + h, x : x + h], 255 - big)
        x += h + gap
    return page


def test_a_row_is_split_left_to_right(mnist_test):
    x, y = mnist_test
    digits = segment_digits(_row(x[:5], [150, 120, 170, 140, 160], gap=10))
    assert len(digits) == 5
    for got, original in zip(digits, x[:5]):
        assert _correlation(got, original) > 0.8


def test_separate_strokes_of_one_digit_stay_together():
    # A "5" drawn as two strokes that do not touch: the bar and the body.
    page = np.full((300, 500), 255, np.uint8)
    cv2.line(page, (70, 60), (160, 60), 0, 12)  # bar of the 5, separate from the rest
    cv2.line(page, (70, 75), (65, 140), 0, 12)
    cv2.ellipse(page, (110, 180), (50, 50), 0, -120, 150, 0, 12)
    cv2.line(page, (300, 60), (300, 240), 0, 12)  # a 1 beside it
    stages = digit_stages(page, multi=True)
    assert len(stages.digits) == 2
    assert stages.boxes[0][0] < stages.boxes[1][0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arrays(
        dtype=st.sampled_from([np.uint8, np.uint16, np.float32, np.float64]),
        shape=st.one_of(
            st.tuples(st.integers(1, 40), st.integers(1, 40)),
            st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 2, 3, 4, 5])),
        ),
    )
)
def test_any_image_is_read_or_refused_with_our_error(image):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no overflow or 0/0 on the way
            out = preprocess_digit(image)
    except ImageError:
        return
    assert out.shape == (28, 28) and out.dtype == np.uint8


def test_a_detached_bar_beside_its_digit_joins_it():
    # A "5" whose bar sticks out to the right of its body, barely overlapping it, then a "1":
    # the bar is far shorter than any digit, so it is a stroke of its neighbour, not a digit.
    page = np.full((300, 560), 255, np.uint8)
    cv2.ellipse(page, (110, 190), (50, 50), 0, -120, 150, 0, 12)
    cv2.line(page, (70, 80), (65, 150), 0, 12)
    cv2.line(page, (140, 60), (230, 60), 0, 12)  # the bar, starting where the body ends
    cv2.line(page, (400, 60), (400, 240), 0, 12)
    stages = digit_stages(page, multi=True)
    assert stages.columns == 2
    assert stages.boxes[0][0] < 70 and stages.boxes[0][0] + stages.boxes[0][2] > 230


def test_light_fading_across_a_wide_row_is_not_ink(mnist_test):
    # A row is far wider than tall: the paper must be found at the scale of its height.
    x, _ = mnist_test
    page = _row(x[:5], [240] * 5, gap=100, pad=250).astype(np.float32)
    light = np.linspace(1.05, 0.5, page.shape[0])[:, None]  # a lamp above the page
    photo = np.clip(page * light, 0, 255).astype(np.uint8)
    digits = segment_digits(photo)
    assert len(digits) == 5
    for got, original in zip(digits, x[:5]):
        assert _correlation(got, original) > 0.8


def _strokes(*draw) -> np.ndarray:
    page = np.full((320, 420), 255, np.uint8)
    for shape, args in draw:
        getattr(cv2, shape)(page, *args)
    return page


BROKEN_SINGLE_DIGITS = {
    # The bar of a 5 apart from its body.
    "5-bar-apart": [("line", ((70, 60), (160, 60), 0, 12)), ("line", ((70, 78), (65, 140), 0, 12)),
                    ("ellipse", ((110, 190), (50, 50), 0, -120, 150, 0, 12))],
    # A 4 in two strokes that nearly touch: an L, then the long down stroke just beside it (as in
    # synthetic photo 407 of seed 0).
    "4-two-strokes": [("line", ((100, 60), (100, 170), 0, 14)), ("line", ((100, 170), (152, 170), 0, 14)),
                      ("line", ((168, 70), (168, 250), 0, 14))],
    # A 1 drawn so thin that it broke into dots, falling down and to the left (synthetic photo 540).
    "1-dotted": [("circle", ((170, 60), 14, 0, -1)), ("circle", ((160, 110), 10, 0, -1)),
                 ("circle", ((140, 170), 11, 0, -1)), ("circle", ((130, 220), 12, 0, -1))],
    # A bold 2 with a thin stray line close beside it (synthetic photo 1564).
    "2-stray-line": [("ellipse", ((130, 110), (50, 45), 0, 180, 360, 0, 30)), ("line", ((180, 110), (90, 230), 0, 30)),
                     ("line", ((90, 230), (185, 230), 0, 30)), ("line", ((212, 90), (206, 200), 0, 8))],
}


@pytest.mark.parametrize("name", BROKEN_SINGLE_DIGITS)
def test_a_broken_single_digit_is_read_as_one_digit(name):
    stages = digit_stages(_strokes(*BROKEN_SINGLE_DIGITS[name]))
    # The pieces stand apart … (except the 4's two strokes, 2 px apart: the blurred ink between
    # them is fainter than the threshold but touches ink above it, so hysteresis joins them)
    assert stages.columns == (1 if name in ("5-bar-apart", "4-two-strokes") else 2)
    assert not stages.row  # … but not as digits of a row do
    assert len(stages.digits) == 1


def test_digits_side_by_side_are_read_as_a_row_without_being_told(mnist_test):
    x, _ = mnist_test
    for gap in (10, 40):  # 10 px beside digits 120-170 px tall: written close, but apart
        stages = digit_stages(_row(x[:5], [150, 120, 170, 140, 160], gap=gap))
        assert stages.row and stages.columns == 5 and len(stages.digits) == 5
    two = digit_stages(_row(x[[2, 1]], [160, 150], gap=30))  # a 1 has far less ink than others
    assert two.row and len(two.digits) == 2


def test_multi_forces_either_reading(mnist_test):
    x, _ = mnist_test
    row = _row(x[:3], [150, 150, 150], gap=40)
    assert len(digit_stages(row, multi=False).digits) == 1
    assert digit_stages(row, multi=False).row  # what the ink looks like, whatever was asked
    five = _strokes(*BROKEN_SINGLE_DIGITS["5-bar-apart"])
    assert len(digit_stages(five, multi=True).digits) == len(digit_stages(five).digits) == 1


@pytest.mark.slow
def test_the_sample_photos_are_read_as_they_were_made():
    # Made by: python benchmarks/photo_digits.py --singles 40 --rows 12 --seed 11 --save-photos DIR
    from digitzoo.image.io import read_image

    from digitzoo.predict import load_model, predict_stages

    model = load_model()
    photos = sorted(PHOTOS.iterdir())
    for path in photos:
        stages = digit_stages(read_image(path))
        label = path.stem.split("-")[2]
        if stages.alternative is None:  # the ink alone decided
            assert stages.reading == ("row" if len(label) > 1 else "single"), path.name
            assert len(stages.digits) == len(label), path.name
        else:  # a tight row or a digit in pieces: both readings kept, one of them right
            assert len(label) in (len(stages.digits), len(stages.alternative.digits)), path.name
        assert len(predict_stages(model, [stages])[0].digits) == len(label), path.name


@pytest.mark.parametrize("ink, paper", [(0, 255), (255, 0)])
def test_a_bold_digit_that_fills_the_picture_is_found(ink, paper):
    # Drawn on a small canvas with a fat brush: the ink covers most of any window a few strokes wide.
    canvas = np.full((280, 280), paper, np.uint8)
    cv2.circle(canvas, (140, 88), 52, ink, thickness=44)
    cv2.circle(canvas, (140, 192), 58, ink, thickness=48)
    stages = digit_stages(canvas, multi=False)
    x, y, w, h = stages.boxes[0]
    assert (x, y) <= (70, 20) and x + w >= 210 and y + h >= 260  # the whole 8, not a piece of it
    assert stages.digits[0].shape == (28, 28) and stages.digits[0].max() == 255
