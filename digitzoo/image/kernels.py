"""Named convolution kernels, and kernels written as text or stored in files.

Every kernel is a read-only float64 array with odd height and width, so that it has a centre
pixel. Signs follow *correlation*, which is what Keras ``Conv2D`` and OpenCV ``filter2D``
compute: the kernel is laid on the image as written, without flipping it. ``VERTICAL`` is the
tutorial's kernel: left column +1, right column -1, so it responds positively where the left is
brighter than the right. ``SOBEL_X`` and ``SCHARR_X`` follow ``cv2.Sobel``/``cv2.Scharr`` and
respond positively where brightness increases to the right; ``SOBEL_Y``/``SCHARR_Y`` where it
increases downwards.
"""

from __future__ import annotations

import difflib
import io
import math
import os
import re
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..errors import KernelError
from ..files import FileTooLargeError, NotRegularFileError, read_regular_file

__all__ = [
    "KernelError",
    "VERTICAL",
    "HORIZONTAL",
    "SOBEL_X",
    "SOBEL_Y",
    "SCHARR_X",
    "SCHARR_Y",
    "LAPLACIAN",
    "LAPLACIAN_8",
    "SHARPEN",
    "BOX_BLUR",
    "GAUSSIAN_BLUR",
    "GAUSSIAN_BLUR_5",
    "EMBOSS",
    "IDENTITY",
    "KERNELS",
    "DESCRIPTIONS",
    "MAX_KERNEL_SIDE",
    "MAX_KERNEL_FILE_BYTES",
    "check_kernel",
    "get_kernel",
    "parse_kernel",
    "load_kernel",
    "resolve_kernel",
]

MAX_KERNEL_SIDE = 255  # larger kernels are a typo, not a filter
#: What :func:`load_kernel` reads at most: a 255×255 kernel is 0.5 MB as float64 .npy, ~1.5 MB as text.
MAX_KERNEL_FILE_BYTES = 4 << 20
_MAX_WEIGHT = 1e30  # the kernel is applied in float32, whose largest value is 3.4e38


def _constant(rows, scale: float = 1.0) -> np.ndarray:
    kernel = np.array(rows, dtype=np.float64) * scale
    kernel.setflags(write=False)  # shared module constants: nobody may change them in place
    return kernel


VERTICAL = _constant([[1, 0, -1], [1, 0, -1], [1, 0, -1]])
HORIZONTAL = _constant([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
SOBEL_X = _constant([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
SOBEL_Y = _constant([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
SCHARR_X = _constant([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]])
SCHARR_Y = _constant([[-3, -10, -3], [0, 0, 0], [3, 10, 3]])
LAPLACIAN = _constant([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
LAPLACIAN_8 = _constant([[1, 1, 1], [1, -8, 1], [1, 1, 1]])
SHARPEN = _constant([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
BOX_BLUR = _constant(np.ones((3, 3)), 1 / 9)
GAUSSIAN_BLUR = _constant([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16)
GAUSSIAN_BLUR_5 = _constant(np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]), 1 / 256)
EMBOSS = _constant([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
IDENTITY = _constant([[0, 0, 0], [0, 1, 0], [0, 0, 0]])

#: Every named kernel, in the order ``digitzoo kernels`` lists them.
KERNELS = MappingProxyType(
    {
        "vertical": VERTICAL,
        "horizontal": HORIZONTAL,
        "sobel-x": SOBEL_X,
        "sobel-y": SOBEL_Y,
        "scharr-x": SCHARR_X,
        "scharr-y": SCHARR_Y,
        "laplacian": LAPLACIAN,
        "laplacian-8": LAPLACIAN_8,
        "sharpen": SHARPEN,
        "box-blur": BOX_BLUR,
        "gaussian-blur": GAUSSIAN_BLUR,
        "gaussian-blur-5": GAUSSIAN_BLUR_5,
        "emboss": EMBOSS,
        "identity": IDENTITY,
    }
)

DESCRIPTIONS = MappingProxyType(
    {
        "vertical": "the tutorial's vertical-edge detector: left minus right, positive where the left is brighter",
        "horizontal": "horizontal edges: top minus bottom, positive where the top is brighter",
        "sobel-x": "vertical edges, centre row weighted 2 (cv2.Sobel dx=1): positive where it is brighter to the right",
        "sobel-y": "horizontal edges, centre column weighted 2 (cv2.Sobel dy=1): positive where it gets brighter below",
        "scharr-x": "like sobel-x with weights 3-10-3, closer to rotation-invariant (cv2.Scharr dx=1)",
        "scharr-y": "like sobel-y with weights 3-10-3 (cv2.Scharr dy=1)",
        "laplacian": "second derivative, 4 neighbours: edges in every direction, 0 on flat areas and ramps",
        "laplacian-8": "second derivative with the diagonals too: outlines",
        "sharpen": "the pixel plus its difference from its 4 neighbours: crisper edges, same brightness",
        "box-blur": "mean of the 3×3 neighbourhood",
        "gaussian-blur": "3×3 binomial approximation of a Gaussian blur",
        "gaussian-blur-5": "5×5 binomial approximation of a Gaussian blur",
        "emboss": "diagonal relief: light from the top left",
        "identity": "leaves the image unchanged: a check of the machinery",
    }
)

_NUMBER_SEPARATORS = re.compile(r"[,\s]+")
# Text of numbers only is a matrix even where a file of that name exists: "1e5" is never a path here.
_NUMBERS_ONLY = re.compile(r"[\d\s,;.eE+\-]+")
# Kernel names are words; text that starts like a number, holds a separator between values, or is
# numbers and '#' comments only, is a matrix (with a typo, maybe: parse_kernel then names the value).
_MATRIX_LIKE = re.compile(r"\s*[-+.\d]|.*[,;\n]|[\d\s,;.eE+\-#]+\Z")


def check_kernel(kernel: object, *, what: str = "kernel") -> np.ndarray:
    """Return ``kernel`` as a float64 array if it can be applied, else raise ``KernelError``.

    Applicable: a real-valued 2-D array, non-empty, odd height and width (so there is a centre
    pixel), at most 255 a side, finite values within ±1e30.
    """
    try:
        array = np.asarray(kernel)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise KernelError(f"{what} must be a 2-D array of numbers ({exc})") from None
    if array.dtype.kind not in "iuf":
        raise KernelError(f"{what} must hold real numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        raise KernelError(f"{what} must be 2-D, got shape {array.shape}")
    height, width = array.shape
    if height == 0 or width == 0:
        raise KernelError(f"{what} is empty ({height}×{width})")
    if height % 2 == 0 or width % 2 == 0:
        raise KernelError(f"{what} must have odd height and width, got {height}×{width}")
    if max(height, width) > MAX_KERNEL_SIDE:
        raise KernelError(f"{what} must be at most {MAX_KERNEL_SIDE}×{MAX_KERNEL_SIDE}, got {height}×{width}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise KernelError(f"{what} contains NaN or infinite values")
    if np.abs(array).max() > _MAX_WEIGHT:
        raise KernelError(f"{what} has weights beyond ±{_MAX_WEIGHT:g}; scale it down")
    return array


def get_kernel(name: str) -> np.ndarray:
    """The named kernel (case-insensitive); an unknown name raises ``KernelError`` naming close matches."""
    key = name.strip().lower()
    if key in KERNELS:
        return KERNELS[key]
    close = difflib.get_close_matches(key, list(KERNELS), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"the named kernels are {', '.join(KERNELS)}"
    raise KernelError(f"unknown kernel {name!r}; {hint}")


def parse_kernel(text: str) -> np.ndarray:
    """A kernel written as rows separated by ';' or newlines, values by ',' or spaces.

    ``"1,0,-1; 2,0,-2; 1,0,-1"`` is the 3×3 Sobel kernel. '#' starts a comment that runs to the
    end of the line. Rows must all have the same number of values.
    """
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    rows = [row.strip() for line in lines for row in line.split(";")]
    rows = [row for row in rows if row]
    if not rows:
        raise KernelError("kernel text has no numbers")
    values: list[list[float]] = []
    for number, row in enumerate(rows, start=1):
        parsed = []
        for token in _NUMBER_SEPARATORS.split(row.strip(", ")):
            try:
                parsed.append(float(token))
            except ValueError:
                raise KernelError(f"kernel row {number}: {token!r} is not a number") from None
        if values and len(parsed) != len(values[0]):
            raise KernelError(f"kernel row {number} has {len(parsed)} values, row 1 has {len(values[0])}")
        values.append(parsed)
    return check_kernel(np.array(values))


def load_kernel(path: str | os.PathLike) -> np.ndarray:
    """A kernel from a ``.npy`` file (a 2-D numeric array) or a text file in ``parse_kernel``'s format.

    At most ``MAX_KERNEL_FILE_BYTES`` are read, from a regular file only: a device such as
    /dev/zero never ends, and a .npy header can claim any size.
    """
    path = Path(path)
    try:
        data = read_regular_file(path, MAX_KERNEL_FILE_BYTES)
        if path.suffix.lower() == ".npy":
            array = _load_npy(data)
        else:
            array = parse_kernel(data.decode("utf-8"))
    except KernelError as exc:
        raise KernelError(f"{path}: {exc}") from None
    except FileNotFoundError:
        raise KernelError(f"{path}: no such kernel file") from None
    except NotRegularFileError as exc:
        raise KernelError(f"{path}: is {exc.kind}, not a kernel file") from None
    except FileTooLargeError as exc:
        raise KernelError(f"{path}: {exc.strerror}; no kernel is that large") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise KernelError(f"{path}: cannot read a kernel ({exc})") from None
    return check_kernel(array, what=f"{path}: kernel")


def _load_npy(data: bytes) -> np.ndarray:
    """The array of a .npy file's bytes; a header claiming more than the file holds is refused
    before numpy allocates what it claims."""
    f = io.BytesIO(data)
    version = np.lib.format.read_magic(f)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in read_header:
        raise KernelError(f"the .npy format {version} is not read; save the kernel with numpy.save")
    shape, _, dtype = read_header[version](f)
    if math.prod(shape) * dtype.itemsize > len(data):
        raise KernelError(f"the .npy header claims shape {shape} of {dtype}, more than the file's {len(data)} bytes hold")
    # allow_pickle=False: a pickled .npy runs arbitrary code when loaded.
    return np.load(io.BytesIO(data), allow_pickle=False)


def resolve_kernel(spec: str, *, files: bool = True) -> tuple[str, np.ndarray]:
    """(label, kernel) for a name, a matrix written as text, or (with ``files``) an existing file.

    The label names the kernel in file names and summaries: the kernel's name, the file's stem,
    or ``custom`` for a matrix given as text. With ``files=False`` no text is ever read as a
    path, so one that is neither a name nor a matrix is an unknown name: the web app's clients
    must not name files on the server.
    """
    if not spec.strip():
        raise KernelError(f"kernel is empty: give a name from KERNELS, a matrix{' or a file' if files else ''}")
    if spec.strip().lower() in KERNELS:
        return spec.strip().lower(), get_kernel(spec)
    if _NUMBERS_ONLY.fullmatch(spec):
        return "custom", parse_kernel(spec)
    if files:
        found = _kernel_file(spec)
        if found is not None:
            return found
    if _MATRIX_LIKE.match(spec):  # a matrix with a typo: say which value, not "unknown kernel"
        return "custom", parse_kernel(spec)
    return spec, get_kernel(spec)


def _kernel_file(spec: str) -> tuple[str, np.ndarray] | None:
    """(the file's stem, its kernel) if ``spec`` names an existing file; None if it names none
    and does not look like a kernel file's name either."""
    path = Path(spec)
    if path.exists():  # a folder or a device too: load_kernel says what it is
        return re.sub(r"[^\w.-]+", "-", path.stem) or "kernel", load_kernel(path)
    if path.suffix.lower() in (".npy", ".txt", ".csv"):
        raise KernelError(f"{path}: no such kernel file")
    return None
