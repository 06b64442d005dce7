"""Reading digits as people write them: free-form rows and broken single digits, without a flag."""

from __future__ import annotations

import numpy as np
import pytest

from digitzoo.image.digits import ROW, SINGLE, digit_stages
from digitzoo.image.synthetic import synthetic_photos
from digitzoo.predict import load_model, predict_digits

cv2 = pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def reader():
    """The default model (shipped weights, never trained here), calibrated as predict uses it."""
    return load_model()


def _page(digits, places, height=150, size=(420, 900)):
    """MNIST digits, white on black, drawn dark on white paper with their tops at ``places`` (x, y)."""
    page = np.full(size, 255, np.uint8)
    for digit, (x, y) in zip(digits, places):
        big = cv2.resize(digit, (height, height), interpolation=cv2.INTER_CUBIC)
        page[y : y + height, x : x + height] = np.minimum(page[y : y + height, x : x + height], 255 - big)
    return page


def test_digits_at_their_own_heights_are_a_row(mnist_test, reader):
    # Three digits, each half a digit higher or lower than its neighbour, one to two widths apart:
    # no baseline, yet three separate digit-sized marks.
    x, y = mnist_test
    page = _page(x[[0, 1, 2]], [(40, 200), (300, 60), (620, 230)])
    (read,) = predict_digits([page], model=reader)
    assert read.digits == "".join(str(d) for d in y[[0, 1, 2]])
    assert read.reading == ROW and read.why


def test_free_form_rows_are_read_without_a_flag(mnist_test, reader):
    x, y = mnist_test
    photos = list(synthetic_photos(x[:2000], y[:2000], 40, seed=7, digits=(2, 5), layout="free"))
    read = predict_digits([p.image for p in photos], model=reader)
    assert sum(len(r.digits) == len(p.label) for r, p in zip(read, photos)) >= 39
    assert sum(r.digits == p.label for r, p in zip(read, photos)) >= 36


def test_broken_single_digits_stay_one_digit(mnist_test, reader):
    x, y = mnist_test
    photos = list(synthetic_photos(x[:2000], y[:2000], 40, seed=7, layout="broken"))
    assert all(photo.style.cuts for photo in photos)
    read = predict_digits([p.image for p in photos], model=reader)
    assert sum(len(r.digits) == 1 for r in read) >= 38


def test_close_pieces_keep_both_readings_until_the_model_chooses(reader):
    # A 5 whose bar stands apart from its body, level with it: a tight row "75"? The model says no.
    page = np.full((320, 420), 255, np.uint8)
    cv2.line(page, (70, 60), (160, 60), 0, 12)
    cv2.line(page, (70, 78), (65, 140), 0, 12)
    cv2.ellipse(page, (110, 190), (50, 50), 0, -120, 150, 0, 12)
    stages = digit_stages(page)
    assert stages.alternative is None or stages.reading in (ROW, SINGLE)
    (read,) = predict_digits([page], model=reader)
    assert read.reading == SINGLE and len(read.digits) == 1
    assert read.stages.alternative is None  # settled


def test_the_json_says_which_reading_and_why(mnist_test, reader):
    x, _ = mnist_test
    page = _page(x[[3, 4]], [(40, 120), (230, 140)], size=(420, 460))  # close together, level
    (read,) = predict_digits([page], model=reader)
    out = read.to_dict()
    assert out["reading"] == ROW and out["why"]
    if out["compared"]:  # both readings were plausible: each with its digits and joint probability
        assert set(out["compared"]) == {ROW, SINGLE}
        assert out["compared"][ROW]["p"] >= out["compared"][SINGLE]["p"] or "digit-sized" in out["why"]


def test_forcing_a_reading_skips_the_comparison(mnist_test, reader):
    x, _ = mnist_test
    page = _page(x[[0, 1, 2]], [(40, 200), (300, 60), (620, 230)])
    (single,) = predict_digits([page], model=reader, multi=False)
    assert single.reading == SINGLE and len(single.digits) == 1 and single.compared == {}
    assert "asked" in single.why
