"""``digitzoo serve``: a local web page to draw a digit, read a photo and try kernels, over the library.

:func:`create_app` builds the FastAPI app (JSON API under ``/api``, the page at ``/``);
:func:`serve` runs it with uvicorn until Ctrl-C. Importing this package imports neither FastAPI
nor uvicorn: both load when one of the two functions is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app", "serve"]


def create_app(model: str | None = None, **kwargs: Any) -> FastAPI:
    """The web app with ``model`` loaded (see :func:`digitzoo.web.app.create_app`)."""
    from .app import create_app as create

    return create(model, **kwargs)


def serve(*args: Any, **kwargs: Any) -> None:
    """Run the web app until Ctrl-C (see :func:`digitzoo.web.server.serve`)."""
    from .server import serve as run

    run(*args, **kwargs)
