"""apply_kernel against scipy.ndimage and hand-computed cases; displaying signed responses."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from digitzoo.errors import ImageError
from digitzoo.image.filters import (
    BORDERS,
    apply_kernel,
    default_display,
    demo_cases,
    filter_image,
    show_image,
    show_response,
    tutorial_edge,
)
from digitzoo.image.kernels import HORIZONTAL, KERNELS, LAPLACIAN, SCHARR_X, SOBEL_X, SOBEL_Y, VERTICAL

# digitzoo border name → scipy.ndimage mode that pads the same way
SCIPY_MODE = {"reflect101": "mirror", "reflect": "reflect", "replicate": "nearest", "zero": "constant", "wrap": "wrap"}
ASYMMETRIC = np.array([[1.0, 2.0, 0.0, -1.0, 0.5], [0.0, -3.0, 4.0, 1.0, 0.0], [2.5, 0.0, -1.0, 0.0, 1.0]])


@pytest.fixture
def photo():
    """A smooth random float image in [0, 1] with odd sizes, so no symmetry hides a mistake."""
    rng = np.random.default_rng(0)
    return rng.random((23, 31)).astype(np.float32)


def _scipy(image, kernel, border, convolve=False):
    function = ndimage.convolve if convolve else ndimage.correlate
    return function(image.astype(np.float64), np.asarray(kernel, np.float64), mode=SCIPY_MODE[border], cval=0.0)


def _valid(full, kernel):
    top, left = kernel.shape[0] // 2, kernel.shape[1] // 2
    return full[top : full.shape[0] - top, left : full.shape[1] - left]


@pytest.mark.parametrize("border", [b for b in BORDERS if b != "valid"])
@pytest.mark.parametrize("name", list(KERNELS))
def test_named_kernels_match_scipy_correlate(photo, name, border):
    kernel = KERNELS[name]
    response = apply_kernel(photo, kernel, border=border)
    assert response.dtype == np.float32 and response.shape == photo.shape
    np.testing.assert_allclose(response, _scipy(photo, kernel, border), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("border", [b for b in BORDERS if b != "valid"])
def test_asymmetric_kernel_correlate_and_convolve_match_scipy(photo, border):
    correlated = apply_kernel(photo, ASYMMETRIC, border=border)
    convolved = apply_kernel(photo, ASYMMETRIC, mode="convolve", border=border)
    np.testing.assert_allclose(correlated, _scipy(photo, ASYMMETRIC, border), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(convolved, _scipy(photo, ASYMMETRIC, border, convolve=True), rtol=1e-5, atol=1e-5)
    assert not np.allclose(correlated, convolved)


@pytest.mark.parametrize("border", [b for b in BORDERS if b != "valid"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (2, 3), (3, 2)])
def test_kernel_larger_than_the_image_matches_scipy(border, shape):
    image = np.arange(1, 1 + shape[0] * shape[1], dtype=np.float32).reshape(shape) / 10
    kernel = np.arange(35, dtype=np.float64).reshape(5, 7) - 17
    expected = _scipy(image, kernel, border)
    np.testing.assert_allclose(apply_kernel(image, kernel, border=border), expected, rtol=1e-5, atol=1e-4)


def test_valid_border_is_the_interior_without_padding(photo):
    response = apply_kernel(photo, ASYMMETRIC, border="valid")
    assert response.shape == (23 - 2, 31 - 4)
    np.testing.assert_allclose(response, _valid(_scipy(photo, ASYMMETRIC, "zero"), ASYMMETRIC), rtol=1e-5, atol=1e-5)
    single = apply_kernel(photo[:3, :5], ASYMMETRIC, border="valid")
    assert single.shape == (1, 1)
    assert single[0, 0] == pytest.approx(float((photo[:3, :5] * ASYMMETRIC).sum()), rel=1e-5)


def test_default_border_is_filter2d_and_cv2_derivatives_agree(photo):
    """filter2D correlates (no flip); sobel-x, sobel-y, scharr-x and laplacian are OpenCV's."""
    np.testing.assert_allclose(
        apply_kernel(photo, ASYMMETRIC), cv2.filter2D(photo, cv2.CV_32F, ASYMMETRIC.astype(np.float32)), atol=1e-5
    )
    np.testing.assert_allclose(apply_kernel(photo, SOBEL_X), cv2.Sobel(photo, cv2.CV_32F, 1, 0, ksize=3), atol=1e-5)
    np.testing.assert_allclose(apply_kernel(photo, SOBEL_Y), cv2.Sobel(photo, cv2.CV_32F, 0, 1, ksize=3), atol=1e-5)
    np.testing.assert_allclose(apply_kernel(photo, SCHARR_X), cv2.Scharr(photo, cv2.CV_32F, 1, 0), atol=1e-5)
    np.testing.assert_allclose(apply_kernel(photo, LAPLACIAN), cv2.Laplacian(photo, cv2.CV_32F, ksize=1), atol=1e-5)


def test_color_filters_each_channel_and_gray_uses_luminance():
    rng = np.random.default_rng(1)
    bgr = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    response = apply_kernel(bgr, ASYMMETRIC, color=True)
    assert response.shape == (9, 11, 3)
    for channel in range(3):
        expected = _scipy(bgr[:, :, channel] / 255.0, ASYMMETRIC, "reflect101")
        np.testing.assert_allclose(response[:, :, channel], expected, rtol=1e-5, atol=1e-5)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
    np.testing.assert_allclose(apply_kernel(bgr, VERTICAL), _scipy(gray, VERTICAL, "reflect101"), atol=3 * 3 / 255)


def test_transparent_pixels_are_white_before_filtering():
    bgra = np.zeros((5, 6, 4), np.uint8)  # black, fully transparent on the right half
    bgra[:, :3, 3] = 255
    response = apply_kernel(bgra, VERTICAL, border="valid")
    np.testing.assert_allclose(response, [[0, -3, -3, 0]] * 3, atol=1e-6)  # dark left, white right
    np.testing.assert_allclose(apply_kernel(bgra, VERTICAL, border="valid", color=True)[:, :, 2], response, atol=1e-6)


def test_integer_images_are_scaled_to_unit_range():
    image = np.zeros((3, 3), np.uint16)
    image[:, 0] = 65535
    assert apply_kernel(image, VERTICAL, border="valid")[0, 0] == pytest.approx(3.0)
    assert apply_kernel(image.astype(np.uint8) * 0 + 255, VERTICAL, border="valid")[0, 0] == 0.0


def test_the_tutorials_8x8_edge_by_hand():
    image = tutorial_edge()
    expected_image = np.array([[10, 10, 10, 10, 0, 0, 0, 0]] * 8)
    np.testing.assert_array_equal(image, expected_image)
    np.testing.assert_array_equal(apply_kernel(image, VERTICAL, border="valid"), [[0, 0, 30, 30, 0, 0]] * 6)
    flipped = apply_kernel(image, VERTICAL, mode="convolve", border="valid")
    np.testing.assert_array_equal(flipped, [[0, 0, -30, -30, 0, 0]] * 6)
    np.testing.assert_array_equal(apply_kernel(image, HORIZONTAL, border="valid"), np.zeros((6, 6)))
    # With zero padding the image's own left side (the padded 0 beside 10) is an edge too: 3 × (0 − 10).
    np.testing.assert_array_equal(apply_kernel(image, VERTICAL, border="zero")[3], [-30, 0, 0, 30, 30, 0, 0, 0])


def test_demo_cases_show_the_edge_columns_only():
    edge, reverse, stripe = demo_cases()
    assert edge.response.shape == (6, 6) and edge.responding_columns == [2, 3]
    np.testing.assert_array_equal(reverse.response, -edge.response)
    np.testing.assert_array_equal(stripe.response, [[0, 0, -30, 0, 30, 0]] * 6)
    assert stripe.responding_columns == [2, 4]
    assert all(case.responding_columns == [] for case in demo_cases(HORIZONTAL))
    assert demo_cases(border="zero")[0].response.shape == (8, 8)


def test_mgrid_vertical_edge_responds_only_at_the_edge():
    _, cols = np.mgrid[0:20, 0:30]
    image = (cols >= 12).astype(np.float64)  # dark left, bright right, the step between columns 11 and 12
    for border in BORDERS:
        response = apply_kernel(image, VERTICAL, border=border)
        offset = 0 if border != "valid" else 1
        responding = np.flatnonzero(np.any(response != 0, axis=0)) + offset
        if border == "wrap":  # wrapping puts bright column 29 beside dark column 0: a second edge
            assert list(responding) == [0, 11, 12, 29]
        elif border == "zero":  # the zero padding beside bright column 29 is an edge too
            assert list(responding) == [11, 12, 29]
        else:
            assert list(responding) == [11, 12], border
        edge = response[:, 11 - offset : 13 - offset]
        assert (edge[1:-1] == -3).all()  # three rows of (0 − 1); zero padding above and below gives -2
        across = apply_kernel(image, HORIZONTAL, border=border)
        assert not (across[1:-1] if border == "zero" else across).any()  # zero padding: top and bottom are edges


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "flip"}, "mode must be one of correlate, convolve; got 'flip'"),
        ({"border": "same"}, "border must be one of reflect101, reflect, replicate, zero, wrap, valid; got 'same'"),
    ],
)
def test_bad_mode_or_border(kwargs, message):
    with pytest.raises(ImageError) as info:
        apply_kernel(np.zeros((4, 4)), VERTICAL, **kwargs)
    assert str(info.value) == message


def test_valid_needs_an_image_as_large_as_the_kernel():
    with pytest.raises(ImageError) as info:
        apply_kernel(np.zeros((2, 9)), VERTICAL, border="valid")
    assert str(info.value) == "border 'valid' needs an image at least as large as the kernel (3×3), got 2×9"


def test_bad_images_and_kernels_are_our_errors():
    with pytest.raises(ImageError, match="must be a numpy array, got list"):
        apply_kernel([[1, 2, 3]], VERTICAL)
    with pytest.raises(ImageError, match=r"image is empty \(0×5 pixels\)"):
        apply_kernel(np.zeros((0, 5)), VERTICAL)
    with pytest.raises(ImageError, match="kernel must have odd height and width, got 2×2"):
        apply_kernel(np.zeros((5, 5)), np.ones((2, 2)))


def test_overflow_is_refused():
    image = np.full((3, 3), 1e30, np.float32)
    with pytest.raises(ImageError) as info:
        apply_kernel(image, np.full((3, 3), 1e10))
    assert str(info.value) == "the response overflows float32: scale the image or the kernel down"


def test_show_response_abs_signed_and_clip():
    response = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0]], np.float32)
    np.testing.assert_array_equal(show_response(response, "abs"), [[255, 128, 0, 128, 255]])
    np.testing.assert_array_equal(show_response(response, "signed"), [[1, 64, 128, 192, 255]])
    np.testing.assert_array_equal(show_response(response / 2, "clip"), [[0, 0, 0, 128, 255]])
    for display, level in (("abs", 0), ("signed", 128), ("clip", 0)):
        picture = show_response(np.zeros((3, 4)), display)
        assert picture.dtype == np.uint8 and (picture == level).all()


def test_show_response_saturates_rare_outliers_but_not_a_thin_edge():
    response = np.ones((100, 100), np.float32)
    response[0, :5] = 100.0  # 0.05% glints
    picture = show_response(response, "abs")
    assert (picture[1:] == 255).all() and (picture[0, :5] == 255).all()
    thin = np.zeros((300, 300), np.float32)  # nonzero in 0.33% of the pixels: the percentile is 0
    thin[:, 150] = 4.0
    thin[:2, 150] = 8.0
    picture = show_response(thin, "abs")
    assert picture[0, 150] == 255 and picture[5, 150] == 128 and picture[:, :150].max() == 0


def test_default_display_follows_the_kernel_sum():
    assert default_display(VERTICAL) == "abs"
    assert default_display(KERNELS["gaussian-blur"]) == "clip"
    assert default_display(KERNELS["emboss"]) == "clip"
    result = filter_image(np.eye(5), KERNELS["identity"])
    assert result.display == "clip"
    np.testing.assert_array_equal(result.picture, np.eye(5) * 255)
    assert (result.min, result.max) == (0.0, 1.0)


def test_show_image():
    gray = show_image(np.full((4, 6), 65535, np.uint16))
    assert gray.dtype == np.uint8 and (gray == 255).all()
    stretched = show_image(np.array([[-1.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(stretched, [[0, 128, 255]])
    color = show_image(np.zeros((2, 3, 4), np.uint8), color=True)  # transparent: white
    assert color.shape == (2, 3, 3) and (color == 255).all()


IMAGES = arrays(
    dtype=st.sampled_from([np.uint8, np.uint16, np.float32, np.float64]),
    shape=st.one_of(
        st.tuples(st.integers(0, 12), st.integers(0, 12)),
        st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(0, 5)),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    image=IMAGES,
    name=st.sampled_from(list(KERNELS)),
    border=st.sampled_from(BORDERS),
    mode=st.sampled_from(["correlate", "convolve"]),
    color=st.booleans(),
)
def test_any_image_filters_or_raises_our_error(image, name, border, mode, color):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no overflow or 0/0 on the way
            result = filter_image(image, KERNELS[name], mode=mode, border=border, color=color)
            shown = show_image(image, color=color)
    except ImageError:
        return
    height, width = image.shape[:2]
    shrink = KERNELS[name].shape[0] - 1 if border == "valid" else 0
    assert result.response.shape[:2] == (height - shrink, width - shrink)
    assert result.response.dtype == np.float32 and np.isfinite(result.response).all()
    assert result.picture.dtype == np.uint8 and result.picture.shape == result.response.shape
    assert shown.dtype == np.uint8 and shown.shape[:2] == (height, width)
    assert (result.response.ndim == 3) == (color and image.ndim == 3 and image.shape[2] in (3, 4))
