"""Sliding a kernel over an image, and making the signed response visible.

Correlation lays the kernel on the image as written: ``out[y, x] = Σ k[i, j] · img[y+i-cy, x+j-cx]``.
That is what Keras ``Conv2D`` and OpenCV ``filter2D`` compute, though both call it convolution.
True convolution flips the kernel first (top to bottom and left to right); for symmetric kernels
(blurs, the Laplacian) the two are the same, for edge kernels the sign of the response flips.

The response is signed: for the tutorial's ``vertical`` kernel it is positive where the left is
brighter than the right, negative where the right is brighter, and 0 on flat areas, because the
kernel's +1 and -1 columns cancel there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ImageError
from .convert import check_finite, check_image, to_bgr, to_gray
from .kernels import VERTICAL, check_kernel

__all__ = [
    "MODES",
    "BORDERS",
    "DISPLAYS",
    "FilterResult",
    "DemoCase",
    "apply_kernel",
    "filter_image",
    "default_display",
    "show_response",
    "show_image",
    "tutorial_edge",
    "demo_cases",
]

MODES = ("correlate", "convolve")
#: Border handling. Names, with OpenCV's and scipy.ndimage's names for the same thing:
#: reflect101 = cv2.BORDER_REFLECT_101 (filter2D's default) = scipy "mirror":  c b | a b c d | c b
#: reflect    = cv2.BORDER_REFLECT = scipy "reflect":                          b a | a b c d | d c
#: replicate  = cv2.BORDER_REPLICATE = scipy "nearest":                        a a | a b c d | d d
#: zero       = cv2.BORDER_CONSTANT with 0 = scipy "constant" (Keras padding="same"): 0 0 | a b c d | 0 0
#: wrap       = cv2.BORDER_WRAP = scipy "wrap":                                c d | a b c d | a b
#: valid      = no padding: the output shrinks by the kernel size - 1 (Keras padding="valid")
BORDERS = ("reflect101", "reflect", "replicate", "zero", "wrap", "valid")
DISPLAYS = ("abs", "signed", "clip")

_PEAK_PERCENTILE = 99.5  # of |response|, shown as full brightness: glints on a spoon would dim all else
_PEAK_SAMPLE = 1_000_000  # pixels enough to estimate it; the exact one is slow on a 12-megapixel photo


@dataclass(frozen=True)
class FilterResult:
    """A filtered image: ``response`` is the signed float32 result, (H', W') or (H', W', 3) BGR;
    ``picture`` the same as uint8 for looking at, made with ``display``."""

    response: np.ndarray
    picture: np.ndarray
    kernel: np.ndarray
    mode: str
    border: str
    display: str

    @property
    def min(self) -> float:
        return float(self.response.min())

    @property
    def max(self) -> float:
        return float(self.response.max())


def _apply(pixels: np.ndarray, kernel: np.ndarray, border: str) -> np.ndarray:
    """Correlate float32 ``pixels`` (H, W[, C]) with ``kernel``: the one place a kernel is applied.

    The image is padded explicitly, then filtered and cropped to the 'valid' part, so every border
    (including wrap, which filter2D refuses) goes through the same code.
    """
    import cv2

    height, width = kernel.shape
    top, left = height // 2, width // 2
    if border != "valid":
        cv_border = {
            "reflect101": cv2.BORDER_REFLECT_101,
            "reflect": cv2.BORDER_REFLECT,
            "replicate": cv2.BORDER_REPLICATE,
            "zero": cv2.BORDER_CONSTANT,
            "wrap": cv2.BORDER_WRAP,
        }[border]
        pixels = cv2.copyMakeBorder(pixels, top, top, left, left, cv_border, value=0)
    # filter2D computes correlation with the anchor at the kernel's centre; what it does beyond the
    # padded edge does not matter, because that part is cropped away.
    out = cv2.filter2D(pixels, cv2.CV_32F, kernel.astype(np.float32), borderType=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(out[top : out.shape[0] - top, left : out.shape[1] - left])


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise ImageError(f"{what} must be one of {', '.join(choices)}; got {value!r}")
    return value


def apply_kernel(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    mode: str = "correlate",
    border: str = "reflect101",
    color: bool = False,
) -> np.ndarray:
    """The signed response of ``image`` to ``kernel``: float32, (H, W) or (H, W, 3) with ``color``.

    ``image``: (H, W) or (H, W, 1|3|4) uint8, uint16 or float, BGR(A); integer images are scaled
    to [0, 1] first, float images are used as they are. By default the image is turned into
    gray (transparency over white); ``color=True`` filters B, G and R separately.
    ``mode``: "correlate" (what Keras Conv2D and cv2.filter2D compute) or "convolve" (the kernel
    flipped both ways first). ``border``: one of ``BORDERS``; with "valid" the result is
    (H - kh + 1, W - kw + 1), otherwise the size of the image.
    """
    image = check_image(image)
    kernel = check_kernel(kernel)
    _check_choice(mode, MODES, "mode")
    _check_choice(border, BORDERS, "border")
    height, width = image.shape[:2]
    if border == "valid" and (height < kernel.shape[0] or width < kernel.shape[1]):
        raise ImageError(
            f"border 'valid' needs an image at least as large as the kernel "
            f"({kernel.shape[0]}×{kernel.shape[1]}), got {height}×{width}"
        )
    pixels = to_bgr(image) if color else to_gray(image)
    if mode == "convolve":
        kernel = kernel[::-1, ::-1]
    response = _apply(pixels, kernel, border)
    if not np.isfinite(response).all():
        raise ImageError("the response overflows float32: scale the image or the kernel down")
    return response


def default_display(kernel: np.ndarray) -> str:
    """"clip" for kernels whose weights sum to 1 (blurs, sharpen: the result is a picture in the
    input's range), "abs" for the rest (edge detectors: the size of the response is what matters)."""
    return "clip" if abs(float(np.sum(kernel)) - 1.0) < 1e-6 else "abs"


def show_response(response: np.ndarray, display: str) -> np.ndarray:
    """A signed response as a uint8 picture of the same shape.

    "abs": |r| / peak · 255, edge strength, black = no response.
    "signed": 128 + 127 · r / peak, mid-gray = 0, brighter = positive, darker = negative.
    "clip": r clipped to [0, 1] times 255, for kernels that keep a [0, 1] image in range.
    ``peak`` is the 99.5th percentile of |r| (estimated from at most a million evenly spaced
    pixels), so a few glints do not leave the rest black; the brightest 0.5% saturate. When that
    percentile is 0 (a response only along one thin edge) it is the largest |r|. An all-zero
    response is black for "abs" and "clip" and mid-gray for "signed".
    """
    _check_choice(display, DISPLAYS, "display")
    response = check_finite(np.asarray(response, dtype=np.float32), what="response")
    if display == "clip":
        return np.rint(np.clip(response, 0.0, 1.0) * 255.0).astype(np.uint8)
    peak = _peak(response)
    scaled = np.clip(response / peak, -1.0, 1.0) if peak > 0 else np.zeros_like(response)
    if display == "abs":
        return np.rint(np.abs(scaled) * 255.0).astype(np.uint8)
    return np.rint(128.0 + scaled * 127.0).astype(np.uint8)


def _peak(response: np.ndarray) -> float:
    """The |response| that maps to full brightness: its 99.5th percentile, else its maximum."""
    values = response.ravel()
    sample = np.abs(values[:: max(1, values.size // _PEAK_SAMPLE)])
    peak = float(np.percentile(sample, _PEAK_PERCENTILE))
    return peak if peak > 0 else float(max(-values.min(), values.max()))


def show_image(image: np.ndarray, *, color: bool = False) -> np.ndarray:
    """The input as the filter sees it, as uint8: gray (or BGR with ``color``), alpha over white.

    Values in [0, 1] map to 0–255; float images in another range are stretched from min to max.
    """
    pixels = to_bgr(image) if color else to_gray(image)
    low, high = float(pixels.min()), float(pixels.max())
    if (low < 0.0 or high > 1.0) and high > low:
        pixels = (pixels - low) / (high - low)
    return np.rint(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)


def filter_image(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    mode: str = "correlate",
    border: str = "reflect101",
    display: str | None = None,
    color: bool = False,
) -> FilterResult:
    """``apply_kernel`` plus a uint8 picture of the response (``display`` None: ``default_display``)."""
    kernel = check_kernel(kernel)
    display = _check_choice(display or default_display(kernel), DISPLAYS, "display")
    response = apply_kernel(image, kernel, mode=mode, border=border, color=color)
    return FilterResult(response, show_response(response, display), kernel, mode, border, display)


# The tutorial's worked example ------------------------------------------------------------------


def tutorial_edge(size: int = 8, bright: float = 10.0) -> np.ndarray:
    """The tutorial's picture of an edge: (size, size) float32, left half ``bright``, right half 0."""
    if size < 4 or size % 2:
        raise ImageError(f"size must be even and at least 4, got {size}")
    image = np.zeros((size, size), np.float32)
    image[:, : size // 2] = bright
    return image


@dataclass(frozen=True)
class DemoCase:
    """One worked example: an image, the kernel, and its response."""

    title: str
    image: np.ndarray
    kernel: np.ndarray
    response: np.ndarray

    @property
    def responding_columns(self) -> list[int]:
        """0-based columns of the response with any nonzero value."""
        return [int(c) for c in np.flatnonzero(np.any(self.response != 0, axis=0))]


def demo_cases(kernel: np.ndarray = VERTICAL, *, mode: str = "correlate", border: str = "valid") -> list[DemoCase]:
    """The tutorial's 8×8 edge and two variations, filtered by default with 'valid' borders as in
    the tutorial (a 6×6 response for a 3×3 kernel: no padding makes up values at the edges).

    1. bright left half, dark right half: only the columns whose window straddles the edge respond
       (+30 for ``vertical``: three rows of 10 − 0); flat parts cancel to 0;
    2. the same edge the other way round: the same response with the opposite sign;
    3. the extreme case, a single bright column on black, like the thin rim of a cup seen against
       a dark background: both of its sides respond, with opposite signs.
    """
    stripe = np.zeros((8, 8), np.float32)
    stripe[:, 4] = 10.0
    cases = [
        ("bright left, dark right (the tutorial's 8×8)", tutorial_edge()),
        ("dark left, bright right", tutorial_edge()[:, ::-1].copy()),
        ("one bright column", stripe),
    ]
    return [
        DemoCase(title, image, check_kernel(kernel), apply_kernel(image, kernel, mode=mode, border=border))
        for title, image in cases
    ]
