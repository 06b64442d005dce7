"""Any input to the image functions gives a valid result or digitzoo's own error, never numpy's or
OpenCV's: arrays of every dtype, shape and channel count (NaN and infinities included) and files of
any bytes, including valid images cut short or with bytes changed.

The default pass is short. For a long one, raise the examples per test, e.g.
``DIGITZOO_FUZZ_EXAMPLES=5000 pytest tests/library/test_image_fuzz.py --hypothesis-seed=1``.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from digitzoo.errors import DigitzooError, ImageError
from digitzoo.image.digits import preprocess_digit, segment_digits
from digitzoo.image.filters import BORDERS, apply_kernel, show_image, show_response
from digitzoo.image.header import read_header
from digitzoo.image.io import read_image, write_image
from digitzoo.image.kernels import KERNELS

cv2 = pytest.importorskip("cv2")

FUZZ = settings(
    max_examples=int(os.environ.get("DIGITZOO_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

DTYPES = st.one_of(
    hnp.scalar_dtypes(),  # bool, signed and unsigned ints, float16–float64, complex, datetime, timedelta
    hnp.byte_string_dtypes(max_len=3),
    hnp.unicode_string_dtypes(max_len=3),
)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=24)
SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0, -1.0, 255.0, 65535.0, 1e300, -1e-300])
ANY_ARRAY = hnp.arrays(DTYPES, SHAPES)
# Usable dtypes and shapes, with NaN, infinities and extremes: these reach past the first checks.
IMAGE_LIKE = hnp.arrays(
    st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.float16, np.int32, np.bool_]),
    st.one_of(
        st.tuples(st.integers(1, 40), st.integers(1, 40)),
        st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(0, 5)),
    ),
    elements=None,
).flatmap(lambda a: st.just(a) if a.dtype.kind != "f" else _with_specials(a))


def _with_specials(array: np.ndarray):
    """Float arrays with some NaN, infinities and extreme values put in."""
    return st.lists(st.tuples(st.integers(0, max(array.size - 1, 0)), SPECIAL), max_size=4).map(
        lambda changes: _put(array, changes)
    )


def _put(array: np.ndarray, changes) -> np.ndarray:
    out = array.copy()
    with np.errstate(over="ignore"):
        for index, value in changes:
            if out.size:
                out.flat[index] = value
    return out


def _ours(call):
    """Run ``call``: a digitzoo error is a fine answer; any other exception or a warning fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return call()
        except DigitzooError:
            return None


@FUZZ
@given(image=st.one_of(ANY_ARRAY, IMAGE_LIKE), border=st.sampled_from(BORDERS), color=st.booleans(),
       name=st.sampled_from(list(KERNELS)))  # fmt: skip
def test_apply_kernel(image, border, color, name):
    response = _ours(lambda: apply_kernel(image, KERNELS[name], border=border, color=color))
    if response is not None:
        assert response.dtype == np.float32 and np.isfinite(response).all()
        for display in ("abs", "signed", "clip"):
            assert show_response(response, display).dtype == np.uint8
    shown = _ours(lambda: show_image(image, color=color))
    if shown is not None:
        assert shown.dtype == np.uint8 and shown.shape[:2] == image.shape[:2]


@FUZZ
@given(kernel=st.one_of(ANY_ARRAY, IMAGE_LIKE))
def test_apply_any_kernel(kernel):
    response = _ours(lambda: apply_kernel(np.eye(7, dtype=np.float32), kernel))
    if response is not None:
        assert response.shape == (7, 7) and np.isfinite(response).all()


@FUZZ
@given(image=st.one_of(ANY_ARRAY, IMAGE_LIKE))
def test_preprocess_digit(image):
    digit = _ours(lambda: preprocess_digit(image))
    if digit is not None:
        assert digit.shape == (28, 28) and digit.dtype == np.uint8


@FUZZ
@given(image=st.one_of(ANY_ARRAY, IMAGE_LIKE))
def test_segment_digits(image):
    digits = _ours(lambda: segment_digits(image))
    if digits is not None:
        assert digits and all(d.shape == (28, 28) and d.dtype == np.uint8 for d in digits)


def _valid_files() -> list[bytes]:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    files = [cv2.imencode(ext, image)[1].tobytes() for ext in (".png", ".jpg", ".webp", ".bmp", ".tiff", ".ppm")]
    files.append(cv2.imencode(".png", np.dstack([image, image[:, :, :1]]))[1].tobytes())
    files.append(cv2.imencode(".png", image[:, :, 0].astype(np.uint16) * 257)[1].tobytes())
    files.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes())
    files.append(cv2.imencode(".gif", image)[1].tobytes())
    return files


VALID_FILES = _valid_files()


@st.composite
def _files(draw) -> bytes:
    """Random bytes, or a valid file cut short or with a few bytes changed (mostly in the header)."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    data = bytearray(draw(st.sampled_from(VALID_FILES)))
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.integers(0, min(len(data) - 1, draw(st.sampled_from([40, 200, len(data) - 1])))))
        data[where] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@FUZZ
@given(data=_files())
def test_read_image_and_header(tmp_path, data):
    path = tmp_path / "fuzz.img"
    path.write_bytes(data)
    image = _ours(lambda: read_image(path, max_pixels=100))
    if image is not None:
        assert image.ndim in (2, 3) and image.shape[0] * image.shape[1] <= 100
        assert image.dtype in (np.uint8, np.uint16, np.float32, np.float64)
    _ours(lambda: read_header(data))


@FUZZ
@given(image=st.one_of(ANY_ARRAY, IMAGE_LIKE), ext=st.sampled_from([".png", ".jpg", ".webp", ".bmp", ".tif", ".gif"]))
def test_write_image(tmp_path, image, ext):
    path = tmp_path / f"out{ext}"
    if _ours(lambda: write_image(path, image)) is not None:
        assert read_image(path, max_pixels=None).shape[:2] == image.shape[:2]


def test_our_errors_are_image_errors():
    """What the tests above accept: the image functions raise ImageError (or its KernelError)."""
    with pytest.raises(ImageError):
        apply_kernel(np.zeros((3, 3), np.complex64), KERNELS["vertical"])
