"""``digitzoo serve``: a local web page to draw a digit, read a photo and try kernels, over the library.

:func:`create_app` builds the FastAPI app (the JSON API under ``/api``, the page at ``/``);
:func:`serve` runs it with uvicorn until Ctrl-C. Importing this package imports neither FastAPI
nor uvicorn: both load when one of the two functions is called.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .limits import DEFAULT_MAX_UPLOAD_BYTES
from .server import serve  # imports uvicorn only when called

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "create_app", "serve"]


def create_app(
    model: str | None = None,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    allowed_hosts: Iterable[str] = (),
) -> FastAPI:
    """The web app with ``model`` (None: the most accurate shipped one) loaded now; request bodies
    over ``max_upload_bytes`` are refused before they are read; only requests for ``localhost``, a
    loopback address or one of ``allowed_hosts`` are answered. See :mod:`digitzoo.web.app`."""
    from .app import create_app as create

    return create(model, max_upload_bytes=max_upload_bytes, allowed_hosts=allowed_hosts)
