"""Checking image arrays and turning them into grayscale."""

from __future__ import annotations

import numpy as np

from ..errors import ImageError

__all__ = ["SUPPORTED_DTYPES", "check_finite", "check_image", "to_bgr", "to_float", "to_gray"]

SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)
_MAX_SIDE = 1 << 15
_MAX_FLOAT = 1e30  # beyond this, float32 arithmetic overflows


def check_image(image: object, *, what: str = "image") -> np.ndarray:
    """Return ``image`` as an ndarray if it is a usable picture, else raise ``ImageError``.

    Usable: (H, W) or (H, W, C) with C in 1, 3, 4; dtype uint8, uint16, float32 or float64;
    at least 1×1 and at most 32768 pixels a side; float values finite and within ±1e30.
    """
    if not isinstance(image, np.ndarray):
        raise ImageError(f"{what} must be a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ImageError(f"{what} must have shape (H, W) or (H, W, 1|3|4), got {image.shape}")
    if image.dtype.type not in SUPPORTED_DTYPES:
        raise ImageError(f"{what} must be uint8, uint16, float32 or float64, got {image.dtype}")
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ImageError(f"{what} is empty ({height}×{width} pixels)")
    if max(height, width) > _MAX_SIDE:
        raise ImageError(f"{what} is too large ({height}×{width} pixels; at most {_MAX_SIDE} a side)")
    if image.dtype.kind == "f":
        check_finite(image, what=what)
        if np.abs(image).max() > _MAX_FLOAT:
            raise ImageError(f"{what} has values beyond ±{_MAX_FLOAT:g}; scale it to [0, 1] first")
    return image


def check_finite(pixels: np.ndarray, *, what: str = "image", batch: bool = False) -> np.ndarray:
    """Return ``pixels`` unless they hold NaN or an infinity; then raise ``ImageError``.

    The one check of every function that takes pixels, images or a batch of them, so that all
    refuse alike: a model given NaN answers with ordinary-looking probabilities, and a picture
    filled with NaN becomes one of any colour. Integer arrays pass untouched. With ``batch`` the
    first image (along the first axis) holding such a value is named: "images[3] contains …".
    """
    if pixels.dtype.kind not in "fc":
        return pixels
    finite = np.isfinite(pixels)
    if not finite.all():
        if batch and pixels.ndim > 1:
            what = f"images[{int(np.argmin(finite.reshape(len(pixels), -1).all(axis=1)))}]"
        raise ImageError(f"{what} contains NaN or infinite values")
    return pixels


def to_float(image: np.ndarray) -> np.ndarray:
    """float32 copy scaled to [0, 1] for integer images (0–255, 0–65535); float images as they are."""
    image = check_image(image)
    pixels = image.astype(np.float32)  # always a copy: callers may change it in place
    if image.dtype.kind == "u":
        # In place: at 16 megapixels BGRA, each float temporary is another 256 MB.
        np.divide(pixels, 255.0 if image.dtype == np.uint8 else 65535.0, out=pixels)
    return pixels


def to_bgr(image: np.ndarray, *, background: float = 1.0) -> np.ndarray:
    """(H, W, 3) float32 BGR with transparency composited over ``background``; gray stays (H, W).

    Integer images come out in [0, 1]; float images keep their own range.
    """
    pixels = to_float(image)
    if pixels.ndim == 2:
        return pixels
    if pixels.shape[2] == 1:
        return pixels[:, :, 0]
    color = pixels[:, :, :3]
    if pixels.shape[2] == 4:
        # color · alpha + background · (1 - alpha), in the copy to_float made: no image-sized temporaries
        alpha = np.clip(pixels[:, :, 3:4], 0.0, 1.0)
        color -= background
        color *= alpha
        color += background
    return np.ascontiguousarray(color, dtype=np.float32)


def to_gray(image: np.ndarray, *, background: float = 1.0) -> np.ndarray:
    """(H, W) float32 luminance; transparency is composited over ``background`` (1.0 = white).

    Integer images come out in [0, 1]; float images keep their own range.
    """
    color = to_bgr(image, background=background)
    if color.ndim == 2:
        return color
    # ITU-R BT.601 weights on B, G, R, as cv2.cvtColor(..., COLOR_BGR2GRAY) uses.
    return (color @ np.array([0.114, 0.587, 0.299], dtype=np.float32)).astype(np.float32)
