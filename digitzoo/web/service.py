"""What the web API does, as plain functions over the library: arrays and dicts in, dicts out.

Nothing here knows of HTTP but :class:`RequestError`'s status. Reading digits is
:func:`digitzoo.predict.read_digits` and :func:`digitzoo.predict.predict_stages`, as
``digitzoo predict`` calls them; filtering is :func:`digitzoo.image.filters.filter_image`, as
``digitzoo filter`` calls it; images are decoded by :func:`digitzoo.image.io.decode_image`.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CacheError, DigitzooError, ImageError, KernelError

__all__ = [
    "CUP",
    "IMAGE_SLOTS",
    "FILTER_SIDE",
    "READINGS",
    "RequestError",
    "Models",
    "data_url",
    "decode_data_url",
    "filter_picture",
    "kernel_list",
    "model_list",
    "predict_image",
    "web_kernel",
]

#: The picture the kernel playground filters when none is sent: the tutorial's cup.
CUP = Path(__file__).resolve().parent / "static" / "cup.jpg"
#: Photos are shrunk to this longer side before filtering: the page shows them, nothing needs more.
FILTER_SIDE = 1024
#: How ``reading`` maps to ``read_digits``' ``multi``.
READINGS = {"auto": None, "single": False, "multi": True}
_DATA_URL = re.compile(
    r"data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w.+-]+=[\w.+-]+)*);base64,(?P<data>.*)", re.S
)
#: Images decoded and worked on at once. Decoding one may take up to ``io.MAX_DECODE_BYTES`` (1 GB)
#: and the work is CPU-bound: more requests at once only wait, in line, rather than fill memory.
IMAGE_SLOTS = 2
_slots = threading.BoundedSemaphore(IMAGE_SLOTS)
_log = logging.getLogger(__name__)


class RequestError(DigitzooError):
    """A request the API cannot serve, with the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Models:
    """The models the server reads digits with: the default loaded at start, others on first use.

    A model is loaded at most once (a lock keeps two first requests from loading it twice) and
    never trained: a zoo model with neither shipped weights nor a model the user trained is a
    :class:`RequestError` 409.
    """

    def __init__(self, default: str | None = None) -> None:
        from ..weights import best_pretrained

        self.default = default or best_pretrained()
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.get(self.default)

    @property
    def loaded(self) -> list[str]:
        return sorted(self._loaded)

    def get(self, name: str | None = None, *, calibrated: bool = True) -> tuple[str, Any]:
        """(name, model) for ``name`` (None: the default); ``UnknownModelError`` for unknown names.

        The model gives calibrated probabilities unless ``calibrated`` is False."""
        from ..registry import model_info
        from ..zoo import resolve

        name = self.default if name is None else name
        if not isinstance(name, str):
            raise RequestError(422, f"model must be a model's name, got {name!r}")
        with self._lock:
            if name not in self._loaded:
                model_info(name)  # unknown names: UnknownModelError with close matches
                if not has_weights(name):
                    raise RequestError(
                        409, f"model {name!r} has no trained weights here; run `digitzoo train {name}` first"
                    )
                self._loaded[name] = resolve(name, runtime="auto")
            found = self._loaded[name]
            return name, found.calibrated() if calibrated else found.model


def has_weights(name: str) -> bool:
    """Whether ``name`` can be loaded without training: shipped weights, or a model the user trained.

    The user's cache is asked first, shipped models too: a cached model comes first, so a damaged
    cache entry (``CacheError``) keeps even a shipped model from loading.
    """
    from ..zoo import available

    return available(name)


def model_list(models: Models) -> dict[str, Any]:
    """Every registered model with its shipped test accuracy (None: no weights shipped).

    ``available``: it can read digits here without training (shipped weights, or a model the user
    trained with its default recipe); ``loaded``: it is in memory already; ``problem``: why it is
    not available although it may seem so (its cache entry is damaged), without server paths —
    one bad model is marked, the others are listed as ever.
    """
    from ..registry import list_models, model_info

    listed = []
    for name in list_models():
        spec = model_info(name)
        weights = spec.pretrained
        available, problem = _availability(models, name)
        listed.append(
            {
                "name": name,
                "description": spec.description,
                "params": spec.params,
                "pretrained": weights is not None,
                "test_accuracy": None if weights is None else weights.test_accuracy,
                "available": available,
                "loaded": name in models.loaded,
                "problem": problem,
            }
        )
    return {"default": models.default, "models": listed}


def _availability(models: Models, name: str) -> tuple[bool, str | None]:
    """(available, problem) of one model; the details of a problem go to the server's log."""
    if name in models.loaded:
        return True, None
    try:
        return has_weights(name), None
    except DigitzooError as exc:
        _log.warning("model %s is listed as unavailable: %s", name, exc)
        if isinstance(exc, CacheError) and exc.remedy == "retrain":
            return False, f"its cached trained model on the server is damaged; `digitzoo train {name} --retrain` replaces it"
        if isinstance(exc, CacheError):  # something not digitzoo's stands in the cache: only the owner can move it
            return False, "its entry in the server's model cache is unusable; the server's log says why"
        return False, "the server cannot tell whether it has weights for it; the server's log says why"


def kernel_list() -> dict[str, Any]:
    """The named kernels, as ``digitzoo kernels --json`` lists them."""
    from ..image.kernels import DESCRIPTIONS, KERNELS

    listed = [{"name": name, "description": DESCRIPTIONS[name], "matrix": k.tolist()} for name, k in KERNELS.items()]
    return {"kernels": listed}


def predict_image(
    models: Models,
    data: bytes,
    *,
    reading: Any = "auto",
    top: Any = 3,
    model: str | None = None,
    calibrated: Any = True,
    name: str = "upload",
) -> dict[str, Any]:
    """The digits in an encoded image, read exactly as ``digitzoo predict`` reads a file.

    ``row`` says whether it was read as a row, ``why`` why; ``compared`` the two readings' digits
    and joint probabilities when the model chose between them; ``columns`` how many digits side
    by side the ink looks like (more than one with ``row`` false: reading it as a row may be what
    was meant). ``calibrated`` (default true): calibrated probabilities, else the model's own.
    Per digit: the top ``top`` guesses, all ten probabilities (digits 0–9) and the 28×28 image
    the model saw, as a PNG data URL.
    """
    from ..image.io import decode_image
    from ..predict import predict_stages, read_digits

    top = _top(top)
    if not isinstance(reading, str) or reading not in READINGS:
        raise RequestError(422, f"reading must be one of {', '.join(READINGS)}; got {reading!r}")
    calibrated = _flag(calibrated, "calibrated")
    model_name, classifier = models.get(model, calibrated=calibrated)  # unknown or untrained models fail before any image work
    multi = READINGS[reading]
    with _slots:
        stages = read_digits(decode_image(_non_empty(data, name), name=name), multi=multi)
        (prediction,) = predict_stages(classifier, [stages], top=10)  # all ten: the page draws them
    guesses = []
    for guess, digit in zip(prediction.guesses, stages.digits):
        probabilities = dict(guess.top)
        guesses.append(
            {
                "digit": guess.digit,
                "confidence": guess.confidence,
                "top": [{"digit": d, "p": p} for d, p in guess.top[:top]],
                "probabilities": [probabilities[d] for d in range(10)],
                "input": data_url(digit),
            }
        )
    return {
        "model": model_name,
        "digits": prediction.digits,
        "confidence": prediction.confidence,
        "row": prediction.reading == "row",  # read as a row of digits
        "why": prediction.why,
        "compared": prediction.compared,
        "calibrated": getattr(classifier, "temperature", 1.0) != 1.0,
        "columns": stages.columns,  # how many digits the ink looks like, even when read as one
        "guesses": guesses,
    }


def _flag(value: Any, what: str) -> bool:
    """A true/false field, from JSON (a boolean) or a form (the text true or false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise RequestError(422, f"{what} must be true or false, got {value!r}")


def filter_picture(
    data: bytes | None,
    kernel: Any,
    *,
    mode: Any = "correlate",
    border: Any = "reflect101",
    display: Any = None,
    color: Any = False,
    name: str = "upload",
) -> dict[str, Any]:
    """An encoded image (None: the cup) filtered as ``digitzoo filter`` filters it, after shrinking
    it to ``FILTER_SIDE`` on its longer side; the original (as filtered) and the result as PNG data URLs."""
    from ..image.filters import filter_image, show_image
    from ..image.io import decode_image, fit_side

    label, matrix = web_kernel(kernel)
    for value, what in ((mode, "mode"), (border, "border"), (display, "display")):
        if value is not None and not isinstance(value, str):
            raise RequestError(422, f"{what} must be text, got {value!r}")
    if not isinstance(color, bool):
        raise RequestError(422, f"color must be true or false, got {color!r}")
    with _slots:
        pixels = _cup() if data is None else decode_image(_non_empty(data, name), name=name)
        shown = fit_side(pixels, FILTER_SIDE)
        result = filter_image(shown, matrix, mode=mode, border=border, display=display, color=color)
        original, filtered = data_url(show_image(shown, color=True)), data_url(result.picture)
    height, width = shown.shape[:2]
    return {
        "kernel": {"name": label, "matrix": matrix.tolist()},
        "original": original,
        "filtered": filtered,
        "width": width,
        "height": height,
        "scaled": shown.shape != pixels.shape,
        "mode": result.mode,
        "border": result.border,
        "display": result.display,
    }


def web_kernel(spec: Any) -> tuple[str | None, np.ndarray]:
    """(name or None, matrix) for a kernel's name, a matrix as text or a list of rows.

    Text is read by ``resolve_kernel``, as ``digitzoo filter --kernel`` reads it, but never as a
    file: a client must not name files on the server.
    """
    from ..image.kernels import KERNELS, check_kernel, resolve_kernel

    if isinstance(spec, list):
        return None, check_kernel(spec if all(isinstance(row, list) for row in spec) else [spec])
    if not isinstance(spec, str):
        raise KernelError(f"kernel must be a name, a matrix as text or a list of rows, got {spec!r}")
    if not spec.strip():  # the library's message points at KERNELS; a client knows /api/kernels
        raise KernelError("kernel is empty: give a name from /api/kernels or a matrix such as 1,0,-1;1,0,-1;1,0,-1")
    label, matrix = resolve_kernel(spec, files=False)
    return (label if label in KERNELS else None), matrix  # a typed matrix has no name


def decode_data_url(text: Any) -> bytes:
    """The bytes of an image given as a base64 data URL (``data:image/png;base64,...``)."""
    example = "data:image/png;base64,..."
    if not isinstance(text, str):
        raise RequestError(400, f"image must be a data URL such as {example}, got {type(text).__name__}")
    match = _DATA_URL.fullmatch(text.strip())
    if match is None:
        raise RequestError(400, f"image is not a base64 data URL such as {example}")
    if match["type"] and not match["type"].startswith("image/"):
        raise RequestError(415, f"image is a data URL of {match['type']}, not of an image")
    try:
        return base64.b64decode(re.sub(r"\s+", "", match["data"]), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, "image data URL: the base64 data is damaged") from None


def data_url(image: np.ndarray) -> str:
    """A uint8 image as a PNG data URL, for an ``<img src>``."""
    from ..image.io import encode_png

    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")


def _cup() -> np.ndarray:
    """The default picture's pixels; a missing or damaged one is the server's fault (500), and its
    path stays in the server's log."""
    from ..image.io import load_image

    try:
        return load_image(CUP).pixels
    except ImageError as exc:
        _log.error("the default picture cannot be read: %s", exc)
        raise RequestError(500, "the default picture (the cup) is not installed with digitzoo on this server") from None


def _non_empty(data: bytes, name: str) -> bytes:
    if not data:
        raise RequestError(400, f"{name}: the image is empty")
    return data


def _top(top: Any) -> int:
    if isinstance(top, str) and top.strip().isdigit():
        top = int(top)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 10:
        raise RequestError(422, f"top must be a whole number from 1 to 10, got {top!r}")
    return top
