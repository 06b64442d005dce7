"""Reading and writing image files with OpenCV, within a memory budget and upright.

Files (:func:`read_image`, :func:`load_image`) and encoded bytes in memory (:func:`decode_image`,
an upload) go through one reader, with the same checks and limits.

Reading checks the header first (:mod:`digitzoo.image.header`): a small file can hold a huge
image, so the pixel count and the memory OpenCV would need are known before anything is decoded.
Images larger than the caller needs are shrunk while they are read: JPEGs are decoded directly
at 1/2, 1/4 or 1/8 size, other formats decoded and then averaged down. The EXIF orientation that
phones write is applied, so the pixels are the way every viewer shows them.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ImageError
from ..files import FileTooLargeError, NotRegularFileError, atomic_path, read_regular_file
from .convert import check_finite, check_image
from .header import ImageHeader, read_header

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "MAX_DECODE_BYTES",
    "READ_PIXELS",
    "WRITE_FORMATS",
    "LoadedImage",
    "check_write_format",
    "decode_image",
    "encode_png",
    "fit_side",
    "load_image",
    "read_image",
    "write_image",
]

MAX_FILE_BYTES = 256 << 20  # a 200-megapixel phone JPEG is 30–100 MB
MAX_PIXELS = 1 << 28  # 268 megapixels: a 200-megapixel phone photo fits, 20000×20000 does not
MAX_DECODE_BYTES = 1 << 30  # the file plus what OpenCV allocates to decode it
#: What :func:`read_image` returns at most by default (4096×4096): more than a 12-megapixel phone
#: photo, and more than reading digits or showing a filter's response needs.
READ_PIXELS = 1 << 24
#: Extensions :func:`write_image` writes; 16-bit images stay 16-bit in PNG and TIFF only.
WRITE_FORMATS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_SIXTEEN_BIT_FORMATS = (".png", ".tif", ".tiff")
_REDUCTIONS = (2, 4, 8)  # the scales libjpeg decodes at directly


@dataclass(frozen=True)
class LoadedImage:
    """An image as read: ``pixels`` upright and at most the size asked for; ``header`` the file's."""

    pixels: np.ndarray
    header: ImageHeader

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the image in the file, upright."""
        return self.header.upright_size

    @property
    def shrunk(self) -> bool:
        return self.pixels.shape[1] != self.size[0] or self.pixels.shape[0] != self.size[1]


def read_image(path: str | os.PathLike, *, max_pixels: int | None = READ_PIXELS) -> np.ndarray:
    """Read an image upright: (H, W) gray, or (H, W, 3|4) BGR(A); uint8 or uint16 (float for
    float TIFFs). Larger than ``max_pixels`` (None: no limit but the file's) it comes back shrunk,
    keeping its aspect ratio. See :func:`load_image` for the limits."""
    return load_image(path, max_pixels=max_pixels).pixels


def load_image(path: str | os.PathLike, *, max_pixels: int | None = READ_PIXELS) -> LoadedImage:
    """Read an image as :func:`read_image` does, and keep its header (the size in the file).

    Refused with ``ImageError`` before decoding: files over ``MAX_FILE_BYTES``, formats other
    than those of ``header.FORMATS``, images over ``MAX_PIXELS``, and images whose decoding would
    take more than ``MAX_DECODE_BYTES`` (large PNGs, TIFFs … are decoded at full size first; JPEGs
    at the reduced size).
    """
    path = Path(path)
    return _load(_read_bytes(path), what=str(path), max_pixels=max_pixels)


def decode_image(data: bytes, *, name: str = "upload", max_pixels: int | None = READ_PIXELS) -> np.ndarray:
    """An encoded image held in memory (an upload, a data URL's bytes), read as :func:`read_image`
    reads a file: the same header checks and limits, upright, shrunk to ``max_pixels``.

    ``name`` stands for the image in error messages, as a file's path does.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(f"{name}: image data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ImageError(f"{name}: is empty")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"{name}: the image is {len(data) / 1e6:.1f} MB (at most {MAX_FILE_BYTES / 1e6:.1f} MB)")
    return _load(data, what=name, max_pixels=max_pixels).pixels


def _load(data: bytes, *, what: str, max_pixels: int | None) -> LoadedImage:
    """The one way encoded bytes become pixels: header checks, memory budget, decoding, EXIF, shrinking."""
    header = read_header(data, what=what)
    if header.pixels > MAX_PIXELS:
        raise ImageError(
            f"{what}: {header.width}×{header.height} pixels is too large "
            f"(at most {MAX_PIXELS / 1e6:.0f} megapixels); shrink it first"
        )
    if len(data) < header.min_bytes:  # libjpeg would decode the part there is, and fill in the rest
        raise ImageError(
            f"{what}: the {header.format} file is damaged or cut short: its header says "
            f"{header.width}×{header.height} pixels, more than its {len(data)} bytes can hold"
        )
    if max_pixels is not None and max_pixels < 1:
        raise ImageError(f"max_pixels must be at least 1, got {max_pixels}")
    reduction = _reduction(header, max_pixels)
    need = len(data) + _decode_bytes(header, reduction)
    if need > MAX_DECODE_BYTES:
        raise ImageError(
            f"{what}: {header.width}×{header.height} pixels would take {need / 1e9:.1f} GB to decode "
            f"(at most {MAX_DECODE_BYTES / 1e9:.1f} GB); shrink it or save it as JPEG"
        )
    pixels = _decode(data, header, reduction, what=what)
    if header.format != "TIFF":  # OpenCV's TIFF decoder turns the image itself, even unchanged
        pixels = _upright(pixels, header.orientation)
    if max_pixels is not None:
        pixels = _fit(pixels, max_pixels)
    return LoadedImage(check_image(pixels, what=what), header)


def _read_bytes(path: Path) -> bytes:
    # At most MAX_FILE_BYTES from a regular file: a device (/dev/zero) or a pipe reports size 0
    # and never ends, so a check of the size alone lets it fill the memory.
    try:
        data = read_regular_file(path, MAX_FILE_BYTES)  # not cv2.imread: no non-ASCII paths everywhere
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except NotRegularFileError as exc:
        raise ImageError(f"{path}: is {exc.kind}, not an image") from None
    except FileTooLargeError as exc:
        raise ImageError(f"{path}: {exc.strerror}") from None  # the file is 300.0 MB (at most …)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise ImageError(f"{path}: file is empty")
    return data


def _reduction(header: ImageHeader, max_pixels: int | None) -> int:
    """1, or the JPEG decoding scale 2, 4 or 8: the smallest that fits ``max_pixels``, else 8.

    Other formats have no cheaper way to a small image than decoding it whole.
    """
    if header.format != "JPEG" or max_pixels is None or header.pixels <= max_pixels:
        return 1
    return next((k for k in _REDUCTIONS if header.pixels / (k * k) <= max_pixels), _REDUCTIONS[-1])


def _decode_bytes(header: ImageHeader, reduction: int) -> int:
    """What decoding the file takes at its peak, as measured with OpenCV 5: the output twice (the
    decoder's and the copy Python gets; four times for GIF, which also keeps a BGRA canvas), and a
    progressive JPEG's coefficients."""
    sample_bytes = header.sample_bytes if reduction == 1 else 1  # reduced decoding gives 8 bits
    output = math.ceil(header.width / reduction) * math.ceil(header.height / reduction) * header.channels
    coefficients = 2 * header.pixels * header.channels if header.progressive else 0
    return output * sample_bytes * (4 if header.format == "GIF" else 2) + coefficients


def _decode(data: bytes, header: ImageHeader, reduction: int, *, what: str) -> np.ndarray:
    import cv2

    if reduction == 1:
        flags = cv2.IMREAD_UNCHANGED  # keeps alpha and 16 bits; never applies EXIF orientation
    else:
        gray = header.channels == 1
        flags = {
            2: cv2.IMREAD_REDUCED_GRAYSCALE_2 if gray else cv2.IMREAD_REDUCED_COLOR_2,
            4: cv2.IMREAD_REDUCED_GRAYSCALE_4 if gray else cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_GRAYSCALE_8 if gray else cv2.IMREAD_REDUCED_COLOR_8,
        }[reduction]
        flags |= cv2.IMREAD_IGNORE_ORIENTATION  # applied below, the same way for every path
    with _quiet_opencv(), _decoder_lines() as lines:
        try:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
        except cv2.error:
            image = None
    if image is None:
        raise ImageError(f"{what}: the {header.format} data is damaged; OpenCV cannot decode it")
    if header.format == "JPEG" and any(_JPEG_DAMAGE.match(line) for line in lines):
        # libjpeg only warns, and fills what is missing with gray: a picture, but not the file's
        raise ImageError(f"{what}: the JPEG file is damaged or cut short")
    return image


#: Lines libjpeg and libpng print on stderr themselves, past OpenCV's log level.
_DECODER_LINE = re.compile(
    r"(Corrupt JPEG data|Premature end of JPEG file|Inconsistent progression sequence|Invalid SOS parameters"
    r"|Warning: unknown JFIF revision|Unknown Adobe color transform|libpng warning)"
)
#: libjpeg's warnings that pixels are missing or wrong. "N extraneous bytes before marker" is not
#: one: the pixels are all there, with bytes of padding after them, as some cameras write.
_JPEG_DAMAGE = re.compile(r"Premature end of JPEG file|Inconsistent progression|Corrupt JPEG data: (?!\d+ extraneous)")
_stderr_lock = threading.Lock()


@contextmanager
def _decoder_lines() -> Iterator[list[str]]:
    """Collect the lines image libraries print on descriptor 2 while the block runs.

    libjpeg warns of damage ("Corrupt JPEG data: premature end of data segment") with its own
    fprintf, which no OpenCV log level silences: it is read here so that the caller can say what it
    means in one line of its own. Any other line (another thread's) is passed on at the end. One
    decoding at a time redirects the descriptor; if it cannot be redirected, lines pass as they come.
    """
    lines: list[str] = []
    with _stderr_lock:
        with contextlib.suppress(AttributeError, OSError, ValueError):  # None, closed or broken
            sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2: nothing can be printed anyway
            yield lines
            return
        try:
            with tempfile.TemporaryFile() as capture:
                os.dup2(capture.fileno(), 2)
                try:
                    yield lines
                finally:
                    os.dup2(saved, 2)
                    capture.seek(0)
                    for line in capture.read().decode(errors="replace").splitlines(keepends=True):
                        if _DECODER_LINE.match(line):
                            lines.append(line.strip())
                        else:
                            _write_all(2, line.encode())
        finally:
            os.close(saved)


def _write_all(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(fd, data) :]


def _upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn and mirror stored pixels as EXIF ``orientation`` (1–8) says a viewer shows them."""
    import cv2

    if orientation in (5, 6, 7, 8):
        image = cv2.transpose(image)  # now 5 is done; 6, 7, 8 are 5 mirrored
    flip = {2: 1, 3: -1, 4: 0, 6: 1, 7: -1, 8: 0}.get(orientation)
    return image if flip is None else cv2.flip(image, flip)


def _fit(image: np.ndarray, max_pixels: int) -> np.ndarray:
    """Average ``image`` down to at most ``max_pixels``, keeping its aspect ratio."""
    import cv2

    height, width = image.shape[:2]
    if height * width <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (height * width))
    size = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """No OpenCV log lines on stderr: a failure becomes digitzoo's own one-line error instead."""
    import cv2

    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(level)


def fit_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` averaged down so that its longer side is at most ``max_side``, keeping its aspect
    ratio; returned unchanged if it already fits."""
    import cv2

    if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1:
        raise ImageError(f"max_side must be a whole number of at least 1, got {max_side!r}")
    check_finite(image)
    height, width = image.shape[:2]
    if max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    size = (max(1, min(max_side, round(width * scale))), max(1, min(max_side, round(height * scale))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def encode_png(image: np.ndarray) -> bytes:
    """``image`` (uint8 or uint16; gray, BGR or BGRA) as the bytes of a PNG file, nothing written."""
    import cv2

    image = check_image(image)
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"only uint8 or uint16 images can be encoded, got {image.dtype}")
    with _quiet_opencv():
        try:
            ok, encoded = cv2.imencode(".png", image)
        except cv2.error:
            ok = False
    if not ok:
        raise ImageError(f"OpenCV cannot encode this {image.shape} image as PNG")
    return encoded.tobytes()


def check_write_format(path: str | os.PathLike) -> str:
    """The lower-case extension of ``path`` if :func:`write_image` can write it, else ``ImageError``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_FORMATS:
        kind = f"{path.suffix} files" if path.suffix else "files without an extension"
        names = f"{', '.join(WRITE_FORMATS[:-1])} or {WRITE_FORMATS[-1]}"
        raise ImageError(f"{path}: cannot write {kind}; name a {names} file")
    return suffix


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write ``image`` (uint8 or uint16) atomically in the format its extension names.

    The extension must be one of ``WRITE_FORMATS``. 16-bit images keep their depth in PNG and
    TIFF; for the other formats they are scaled to 8 bits.
    """
    import cv2

    path = Path(path)
    suffix = check_write_format(path)
    image = check_image(image)
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"only uint8 or uint16 images can be written, got {image.dtype}")
    if image.dtype == np.uint16 and suffix not in _SIXTEEN_BIT_FORMATS:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)  # 65535 → 255, rounded
    with _quiet_opencv():
        try:
            ok, encoded = cv2.imencode(suffix, image)
        except cv2.error:
            ok = False
    if not ok:
        raise ImageError(f"{path}: OpenCV cannot encode this image as {suffix}")
    try:
        with atomic_path(path, suffix=path.suffix) as tmp:
            tmp.write_bytes(encoded.tobytes())
    except OSError as exc:
        raise ImageError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path
