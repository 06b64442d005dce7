"""Errors raised by digitzoo. The CLI turns each into a one-line message and exit code 1."""

from __future__ import annotations

__all__ = ["DigitzooError", "DataError", "UnknownModelError", "CacheError", "ImageError", "KernelError", "DigitzooWarning"]


class DigitzooError(Exception):
    """Base class of every error digitzoo raises on purpose."""


class DataError(DigitzooError):
    """MNIST could not be found, read or verified."""


class UnknownModelError(DigitzooError, KeyError):
    """No model is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CacheError(DigitzooError):
    """A cached model is missing, unreadable or fails its integrity check."""


class DigitzooWarning(UserWarning):
    """Something was skipped but the work went on (a source that failed verification …)."""


class ImageError(DigitzooError):
    """An image could not be read, written or used (wrong shape, dtype, no ink …)."""


class KernelError(ImageError):
    """A convolution kernel is unknown, malformed or unusable (even size, not finite …)."""
