"""Reading and writing image files with OpenCV."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ImageError
from ..files import atomic_path
from .convert import check_image

__all__ = ["read_image", "write_image"]


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read any image OpenCV decodes, unchanged: (H, W) gray, or (H, W, 3|4) BGR(A); uint8 or uint16."""
    import cv2

    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # handles non-ASCII paths, unlike cv2.imread
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory, not an image") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data.size == 0:
        raise ImageError(f"{path}: file is empty")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageError(f"{path}: not an image OpenCV can read")
    return check_image(image, what=str(path))


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write ``image`` (uint8 or uint16) atomically in the format its extension names (PNG, JPEG …)."""
    import cv2

    path = Path(path)
    image = check_image(image)
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"only uint8 or uint16 images can be written, got {image.dtype}")
    try:
        ok, encoded = cv2.imencode(path.suffix, image)
    except cv2.error:
        ok = False
    if not ok:
        raise ImageError(f"{path}: cannot write this format (use .png or .jpg)")
    try:
        with atomic_path(path, suffix=path.suffix) as tmp:
            tmp.write_bytes(encoded.tobytes())
    except OSError as exc:
        raise ImageError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path
