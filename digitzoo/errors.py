"""Errors raised by digitzoo. The CLI turns each into a one-line message and exit code 1.

A message says what is wrong and what would fix it in the library's own terms. ``remedy`` names
that fix for a front end, which can add how to do it there (``retrain`` → the CLI's ``--retrain``).
"""

from __future__ import annotations

__all__ = [
    "REMEDIES",
    "DigitzooError",
    "DataError",
    "UnknownModelError",
    "ModelError",
    "ModelFileError",
    "CacheError",
    "ImageError",
    "KernelError",
    "ExportError",
    "NoModelError",
    "DigitzooWarning",
    "describe_exception",
]

#: The fixes an error can name, and what each means in the library.
REMEDIES = {
    "retrain": "train again, replacing the cached model (train(..., retrain=True))",
    "data": "name an MNIST file or folder (load_mnist(path), or $DIGITZOO_DATA)",
    "home": "point $DIGITZOO_HOME at a writable folder",
    "force": "replace what is there (force=True)",
}


class DigitzooError(Exception):
    """Base class of every error digitzoo raises on purpose."""

    def __init__(self, *args: object, remedy: str | None = None) -> None:
        if remedy is not None and remedy not in REMEDIES:
            raise ValueError(f"unknown remedy {remedy!r}")
        super().__init__(*args)
        self.remedy = remedy


class DataError(DigitzooError):
    """MNIST could not be found, read or verified."""


class UnknownModelError(DigitzooError, KeyError):
    """No model is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelError(DigitzooError):
    """A built or loaded model does not fit the zoo: wrong input or output shape, no probabilities …"""


class ModelFileError(ModelError):
    """A file cannot be read as a Keras model: missing, empty, not a ``.keras`` zip archive, truncated …"""


class NoModelError(ModelError):
    """A name means no model here without training: nothing cached for it, and no shipped weights."""


class CacheError(DigitzooError):
    """A cached model is missing, unreadable or fails its integrity check."""


class DigitzooWarning(UserWarning):
    """Something was skipped but the work went on (a source that failed verification …)."""


class ImageError(DigitzooError):
    """An image could not be read, written or used (wrong shape, dtype, no ink …)."""


class KernelError(ImageError):
    """A convolution kernel is unknown, malformed or unusable (even size, not finite …)."""


class ExportError(DigitzooError):
    """A model could not be exported, or an exported file could not be run."""


def describe_exception(exc: BaseException) -> str:
    """``Type: first line of the message``: a stranger's error as one line (Keras's run to dozens)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
