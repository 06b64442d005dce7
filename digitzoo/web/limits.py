"""A limit on request bodies, enforced before a body is read whole.

A pure ASGI middleware: a declared ``Content-Length`` over the limit is refused with 413 before a
byte of the body is read; a body without one (chunked transfer) is counted as it streams in and
refused as soon as it passes the limit, so no upload ever fills memory or disk beyond it.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "BodyTooLarge", "BodyLimit", "send_error", "too_large_message"]

DEFAULT_MAX_UPLOAD_BYTES = 10 << 20  # a 12-megapixel phone JPEG is 3–6 MB; a canvas PNG a few kB

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a streamed body passes the limit; answered with 413."""


def too_large_message(max_bytes: int) -> str:
    return f"the request body is larger than the server's limit of {_size(max_bytes)}"


def _size(n: int) -> str:
    return f"{n / (1 << 20):g} MB" if n >= 1 << 20 else f"{n} bytes"


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 ``{"error": ...}``."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_bytes must be a positive whole number, got {max_bytes!r}")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == "invalid":
            await send_error(send, 400, "the Content-Length header is not a whole number")
            return
        if declared is not None and declared > self.max_bytes:
            await send_error(send, 413, too_large_message(self.max_bytes))
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(too_large_message(self.max_bytes))
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as exc:
            if started:  # the app answered before reading the whole body: nothing left to say
                return
            await send_error(send, 413, str(exc))


def _content_length(scope: Scope) -> int | None | str:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else "invalid"
    return None


async def send_error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))  # the unread body is not worth draining
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
