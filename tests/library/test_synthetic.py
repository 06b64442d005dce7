"""The synthetic photo generator: reproducible, within its stated ranges, and readable by the pipeline."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from digitzoo.errors import ImageError
from digitzoo.image.digits import preprocess_digit, segment_digits
from digitzoo.image.synthetic import HEIGHTS, JPEG_QUALITY, MAX_ROTATION, PhotoStyle, draw_photo, random_style, synthetic_photos

cv2 = pytest.importorskip("cv2")


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


@pytest.mark.slow
def test_same_seed_same_photos(mnist_test):
    x, y = mnist_test
    first = list(synthetic_photos(x[:50], y[:50], 4, seed=3, digits=(1, 3)))
    again = list(synthetic_photos(x[:50], y[:50], 4, seed=3, digits=(1, 3)))
    other = list(synthetic_photos(x[:50], y[:50], 4, seed=4, digits=(1, 3)))
    assert [p.data for p in first] == [p.data for p in again]
    assert [p.data for p in first] != [p.data for p in other]


def test_styles_stay_within_their_ranges():
    rng = np.random.default_rng(0)
    styles = [random_style(rng, digits=3) for _ in range(400)]
    assert {s.surface for s in styles} == {"paper", "board", "transparent"}
    assert all(HEIGHTS[0] <= s.height <= HEIGHTS[1] for s in styles)
    assert all(abs(r) <= MAX_ROTATION for s in styles for r in s.rotations)
    assert max(abs(r) for s in styles for r in s.rotations) > 0.9 * MAX_ROTATION
    photos = [s for s in styles if s.surface != "transparent"]
    assert all(JPEG_QUALITY[0] <= s.jpeg <= JPEG_QUALITY[1] for s in photos)
    assert all(s.jpeg is None for s in styles if s.surface == "transparent")
    assert any(s.shadow for s in styles) and any(s.gray for s in styles) and any(s.specks for s in styles)
    assert all(len(s.rotations) == 3 and len(s.gaps) == 2 for s in styles)


def test_photo_is_its_encoded_file(mnist_test):
    x, y = mnist_test
    for photo in synthetic_photos(x[:20], y[:20], 6, seed=1):
        decoded = cv2.imdecode(np.frombuffer(photo.data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(decoded, photo.image)
        if photo.style.surface == "transparent":
            assert photo.extension == ".png" and photo.image.shape[2] == 4
        else:
            assert photo.extension == ".jpg"
        assert len(photo.label) == 1 and photo.label in "0123456789"


def test_digit_is_drawn_at_the_asked_height(mnist_test):
    x, y = mnist_test
    style = PhotoStyle(surface="paper", ink="black", background="white", height=200, jpeg=95, rotations=(0.0,))
    photo = draw_photo([x[0]], [y[0]], style, np.random.default_rng(0))
    rows = np.flatnonzero((photo.image.min(axis=2) < 128).any(axis=1))
    assert 0.9 * 200 <= rows[-1] - rows[0] + 1 <= 1.1 * 200
    assert photo.label == str(y[0])


def test_chalk_is_lighter_than_its_board(mnist_test):
    x, y = mnist_test
    style = PhotoStyle(surface="board", ink="white", background="blackboard", height=150, jpeg=90, rotations=(0.0,))
    photo = draw_photo([x[0]], [y[0]], style, np.random.default_rng(0))
    gray = cv2.cvtColor(photo.image, cv2.COLOR_BGR2GRAY)
    assert np.median(gray) < 80 and np.percentile(gray, 99.5) > 150


def test_bad_requests_are_refused(mnist_test):
    x, y = mnist_test
    style = PhotoStyle(surface="paper", ink="black", background="white", height=100, rotations=(0.0, 0.0))
    with pytest.raises(ImageError, match="rotations and gaps do not match"):
        draw_photo([x[0]], [y[0]], style, np.random.default_rng(0))
    with pytest.raises(ImageError, match="one label per digit"):
        draw_photo([x[0], x[1]], [y[0]], style, np.random.default_rng(0))
    with pytest.raises(ImageError, match="digits a range"):
        list(synthetic_photos(x, y, 3, digits=(3, 2)))
    with pytest.raises(ImageError, match="without ink"):
        draw_photo([np.zeros((28, 28), np.uint8)], [0], dataclasses.replace(style, rotations=(0.0,)), np.random.default_rng(0))


@pytest.mark.slow
def test_photos_come_back_close_to_the_digits(mnist_test):
    """Model-free: the pipeline's 28×28 from a photo resembles the MNIST digit it was drawn from."""
    x, y = mnist_test
    photos = list(synthetic_photos(x[:100], y[:100], 40, seed=5))
    correlations = []
    for photo in photos:
        [index] = photo.indices
        assert photo.label == str(y[index])
        correlations.append(_correlation(preprocess_digit(photo.image), x[index]))
    # Rotations up to 12°, thinner or bolder strokes and blur keep the shape, not every pixel.
    assert np.median(correlations) > 0.8
    assert np.mean(np.array(correlations) > 0.5) >= 0.95


@pytest.mark.slow
def test_rows_split_into_their_digits(mnist_test):
    x, y = mnist_test
    photos = list(synthetic_photos(x[:200], y[:200], 12, seed=2, digits=(2, 6)))
    counts = [len(segment_digits(p.image)) == len(p.label) for p in photos]
    assert np.mean(counts) >= 0.9
