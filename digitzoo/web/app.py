"""The FastAPI app: routes that turn a request into a call of :mod:`digitzoo.web.service` and its
result into JSON. No image maths here.

``/api/predict`` and ``/api/filter`` take either multipart/form-data (an uploaded ``file``) or
JSON (``{"image": "data:image/png;base64,..."}``, what the canvas sends). FastAPI declares one
body type per route, so these two read the body themselves and describe both forms in the OpenAPI
schema. Work on images runs in the thread pool, off the event loop. Every error is
``{"error": "one line"}``: 4xx for what the request got wrong, 5xx for the server's own faults (a
damaged cache, missing data or files), whose details go to the server's log, never to the client:
no message sent names a file on the server. Anything unexpected is a 500 ``{"error": "internal
error"}`` without a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import CacheError, DataError, DigitzooError, ModelError, UnknownModelError
from . import service
from .hosts import AllowedHosts, HostCheck
from .limits import DEFAULT_MAX_UPLOAD_BYTES, BodyLimit, BodyTooLarge, Message, Receive
from .schemas import ERRORS, FilterAnswer, KernelsAnswer, ModelsAnswer, PredictAnswer
from .service import Models, RequestError

__all__ = ["STATIC", "create_app"]

STATIC = Path(__file__).resolve().parent / "static"
_log = logging.getLogger(__name__)

_IMAGE_FIELDS = {
    "image": {"type": "string", "description": "the image as a data URL: data:image/png;base64,..."},
}
_PREDICT_FIELDS = {
    "reading": {"type": "string", "enum": list(service.READINGS), "default": "auto"},
    "top": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
    "model": {"type": "string", "description": "a zoo model's name (default: the server's model)"},
    "calibrated": {
        "type": "boolean", "default": True,
        "description": "calibrated probabilities (false: the model's own, uncalibrated)",
    },
}
_FILTER_FIELDS = {
    "kernel": {"description": "a name from /api/kernels, a matrix as text (1,0,-1;1,0,-1;1,0,-1) or a list of rows"},
    "mode": {"type": "string", "enum": ["correlate", "convolve"], "default": "correlate"},
    "border": {"type": "string", "default": "reflect101"},
    "display": {"type": "string", "enum": ["abs", "signed", "clip"]},
    "color": {"type": "boolean", "default": False},
}


def _body(fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """An OpenAPI requestBody that takes a multipart upload or JSON with a data URL."""
    file = {"file": {"type": "string", "format": "binary", "description": "an image file (PNG, JPEG, WebP …)"}}
    as_json = ["image" if name == "file" else name for name in required]
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": file | fields, "required": required}
                },
                "application/json": {
                    "schema": {"type": "object", "properties": _IMAGE_FIELDS | fields, "required": as_json}
                },
            },
        }
    }


def create_app(
    model: str | None = None,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    allowed_hosts: Iterable[str] = (),
) -> FastAPI:
    """The web app, with ``model`` (None: the most accurate shipped one) loaded now.

    Request bodies over ``max_upload_bytes`` are refused with 413 before they are read whole.
    The app answers only requests whose ``Host`` is ``localhost``, a loopback address or one of
    ``allowed_hosts`` (names or addresses, without port); 0.0.0.0 or :: among them also allows
    any IP address and this machine's host name (see :mod:`digitzoo.web.hosts`). Others get 421.
    Unknown model names raise ``UnknownModelError``; a model without weights, ``RequestError``;
    a name in ``allowed_hosts`` that is not a host name, ``ValueError``.
    """
    hosts = AllowedHosts(allowed_hosts)  # a bad name fails before the model is loaded
    models = Models(model)
    app = FastAPI(
        title="digitzoo",
        version=_version(),
        description="Read handwritten digits and try convolution kernels, over the digitzoo library.",
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN; the page must work offline
        redoc_url=None,
    )
    app.state.models = models
    app.add_middleware(BodyLimit, max_bytes=max_upload_bytes)
    app.add_middleware(HostCheck, hosts=hosts)  # added last, runs first: no other host gets anything
    _add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Added in this order, which is also the order of the OpenAPI schema's paths.
    _add_page(app)
    _add_lists(app, models)
    _add_predict(app, models)
    _add_filter(app)
    return app


def _add_page(app: FastAPI) -> None:
    """``/``: the page, from ``STATIC`` as it is when asked (a missing page is the server's fault)."""

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        page = STATIC / "index.html"
        if not page.is_file():
            raise RequestError(500, "the page is not installed with digitzoo on this server")
        return FileResponse(page)


def _add_lists(app: FastAPI, models: Models) -> None:
    """``/api/models`` and ``/api/kernels``: what a client may choose from."""

    @app.get("/api/models", summary="The model zoo, with shipped test accuracy", response_model=ModelsAnswer)
    def get_models() -> dict[str, Any]:
        return service.model_list(models)

    @app.get("/api/kernels", summary="The named convolution kernels", response_model=KernelsAnswer)
    def get_kernels() -> dict[str, Any]:
        return service.kernel_list()


def _add_predict(app: FastAPI, models: Models) -> None:
    """``/api/predict``: the digits in an uploaded image or a canvas's data URL."""

    @app.post(
        "/api/predict",
        summary="Read the digit, or the row of digits, in an image",
        openapi_extra=_body(_PREDICT_FIELDS, ["file"]),
        response_model=PredictAnswer,
        responses=ERRORS,
    )
    async def predict(request: Request) -> dict[str, Any]:
        fields = await _read_request(request, ("reading", "top", "model", "calibrated"))
        if fields.get("image") is None:
            raise RequestError(422, "no image: send a file (multipart field 'file') or JSON {\"image\": data URL}")
        return await run_in_threadpool(
            service.predict_image,
            models,
            fields["image"],
            reading=fields.get("reading", "auto"),
            top=fields.get("top", 3),
            model=fields.get("model"),
            calibrated=fields.get("calibrated", True),
            name=fields.get("name", "upload"),
        )


def _add_filter(app: FastAPI) -> None:
    """``/api/filter``: an image (or the cup) filtered with a kernel; no model is involved."""

    @app.post(
        "/api/filter",
        summary="Filter an image (default: the cup) with a convolution kernel",
        openapi_extra=_body(_FILTER_FIELDS, ["kernel"]),
        response_model=FilterAnswer,
        responses={status: answer for status, answer in ERRORS.items() if status not in (404, 409)},
    )
    async def filter_(request: Request) -> dict[str, Any]:
        fields = await _read_request(request, ("kernel", "mode", "border", "display", "color"))
        if "kernel" not in fields:
            raise RequestError(422, "no kernel: give a name from /api/kernels or a matrix such as 1,0,-1;1,0,-1;1,0,-1")
        return await run_in_threadpool(
            service.filter_picture,
            fields.get("image"),
            fields["kernel"],
            mode=fields.get("mode", "correlate"),
            border=fields.get("border", "reflect101"),
            display=fields.get("display") or None,
            color=_form_flag(fields.get("color", False)),
            name=fields.get("name", "upload"),
        )


def _form_flag(value: Any) -> Any:
    """A form's text for a checkbox as a bool; anything else as it came, for the service to refuse."""
    if isinstance(value, str):
        return {"true": True, "false": False, "1": True, "0": False, "on": True}.get(value.lower(), value)
    return value


async def _read_request(request: Request, names: tuple[str, ...]) -> dict[str, Any]:
    """The request's image (bytes, or None if none was sent) and the fields ``names``, from
    multipart/form-data or JSON; unknown fields are ignored."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        return _json_fields(await request.body(), names)
    if kind == "multipart/form-data":
        return await _form_fields(request, names)
    shown = kind or "no Content-Type"
    raise RequestError(415, f"send multipart/form-data (an image in field 'file') or application/json, not {shown}")


def _json_fields(body: bytes, names: tuple[str, ...]) -> dict[str, Any]:
    if not body:
        raise RequestError(400, 'the request body is empty; send JSON such as {"image": "data:image/png;base64,..."}')
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise RequestError(400, f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError(400, f"the JSON body must be an object, got {type(data).__name__}")
    fields = {name: data[name] for name in names if name in data and data[name] is not None}
    if data.get("image") is not None:
        fields["image"] = service.decode_data_url(data["image"])
    return fields


async def _form_fields(request: Request, names: tuple[str, ...]) -> dict[str, Any]:
    ending = _ClosingBoundary.of(request.headers["content-type"])
    if ending is not None:  # None: no boundary, which request.form() refuses with 400
        request = Request(request.scope, ending.watch(request.receive))
    try:
        form = await request.form(max_files=1, max_fields=len(names) + 2)
    except StarletteHTTPException as exc:  # too many files or fields, a malformed body
        raise RequestError(400, f"malformed multipart body: {exc.detail}") from None
    try:
        if ending is not None and not ending.seen:
            # The parser keeps the parts it finished and drops the rest silently: a cut body
            # would be read as one without its image.
            raise RequestError(400, "malformed multipart body: it ends before its closing boundary")
        fields: dict[str, Any] = {}
        for name in names:
            value = form.get(name)
            if isinstance(value, UploadFile):
                raise RequestError(422, f"{name} must be a form field, not a file")
            if value not in (None, ""):
                fields[name] = value
        file = form.get("file")
        if isinstance(file, str):
            raise RequestError(422, "file must be an uploaded file, not a text field")
        if file is not None:
            fields["image"] = await file.read()
            fields["name"] = _upload_name(file.filename)
        return fields
    finally:
        await form.close()


class _ClosingBoundary:
    """Watches a multipart body as it streams in for its close delimiter (CRLF ``--boundary--``),
    which python-multipart does not require (its ``finalize`` checks nothing)."""

    def __init__(self, boundary: bytes) -> None:
        self.mark = b"\r\n--" + boundary + b"--"
        self.tail = b"\r\n"  # the body's start counts as a line's start
        self.seen = False

    @classmethod
    def of(cls, content_type: str) -> _ClosingBoundary | None:
        """The watcher for a multipart Content-Type's boundary; None if it names none."""
        try:
            from python_multipart.multipart import parse_options_header
        except ModuleNotFoundError:  # python-multipart before 0.0.13, as Starlette allows
            from multipart.multipart import parse_options_header

        boundary = parse_options_header(content_type)[1].get(b"boundary")
        return cls(boundary) if boundary else None

    def feed(self, chunk: bytes) -> None:
        if not self.seen:
            window = self.tail + chunk
            self.seen = self.mark in window
            self.tail = window[-(len(self.mark) - 1) :]

    def watch(self, receive: Receive) -> Receive:
        async def watching() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.feed(message.get("body", b""))
            return message

        return watching


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("digitzoo")
    except PackageNotFoundError:
        return "unknown"


def _upload_name(filename: str | None) -> str:
    name = Path(filename or "").name.strip()
    return name[:80] if name else "upload"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


#: What a client is told of the library's errors that are the server's fault. Their own messages
#: name files on the server, so they go to the server's log only.
_SERVER_FAULTS: dict[type[DigitzooError], str] = {
    CacheError: "a cached model on the server is damaged or unusable; the server's log says which and why",
    DataError: "the server cannot read its MNIST data; the server's log says why",
    ModelError: "a model on the server is damaged or does not fit the zoo; the server's log says which",
}


def _status(exc: DigitzooError) -> int:
    if isinstance(exc, RequestError):
        return exc.status
    if isinstance(exc, UnknownModelError):
        return 404
    if isinstance(exc, tuple(_SERVER_FAULTS)):
        return 500  # the server's own files are at fault, not the request
    return 422  # ImageError, KernelError (bad matrix, unknown kernel), bad options


def _client_message(exc: DigitzooError) -> str:
    """The one line a client gets: the error's own, unless it is a server fault naming server files."""
    for kind, message in _SERVER_FAULTS.items():
        if isinstance(exc, kind):
            return message
    return str(exc)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DigitzooError)
    async def digitzoo_error(request: Request, exc: DigitzooError) -> JSONResponse:
        status = _status(exc)
        if status >= 500:
            _log.error("server fault on %s %s: %s", request.method, request.url.path, exc)
        return _error(status, _client_message(exc))

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return _error(413, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such page: {request.url.path}"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
            for error in exc.errors()
        ]
        return _error(422, "; ".join(problems) or "invalid request")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal error")

