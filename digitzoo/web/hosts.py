"""Which ``Host`` headers the app answers: a guard against DNS rebinding.

A page on another site can point its own name at 127.0.0.1 (DNS rebinding) and then read the API
as if it were its own origin; the browser then sends that site's name in ``Host``. So the app
answers only to the names it was started for: ``localhost``, the loopback addresses (127.0.0.1,
::1) and the names given. An address of all interfaces among them (0.0.0.0, ::) stands for every
address of this machine: any IP address and the machine's host name are answered too. An IP
address in ``Host`` cannot be a rebinding (the page's origin is then that address, this server),
so that widening is safe; any other name must be given.

Starlette's ``TrustedHostMiddleware`` answers with a plain-text 400 that cannot be changed; this
middleware answers in the app's one-line JSON, 400 for a missing or malformed ``Host``, 421
(Misdirected Request) for a name the server does not answer to.
"""

from __future__ import annotations

import ipaddress
import re
import reprlib
import socket
from collections.abc import Iterable

from .limits import Receive, Scope, Send, send_error

__all__ = ["LOOPBACK_NAMES", "ALL_INTERFACES", "AllowedHosts", "HostCheck", "host_name"]

#: Answered by every app: the names a browser on this machine reaches the server by.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
#: Addresses that bind every interface: among the allowed names, they allow any IP address and
#: this machine's host name.
ALL_INTERFACES = ("0.0.0.0", "::")
_HOST_HEADER = re.compile(r"(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::\d*)?")
_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*")


def host_name(value: str) -> str:
    """``value`` as the allowed-hosts list keeps it (lower case, IPv6 without brackets, no final
    dot); ``ValueError`` naming the rule for anything that is not a host name or an IP address."""
    if not isinstance(value, str):
        raise ValueError(f"a host name must be text, got {value!r}")
    name = _normal(value)
    if name is None:
        if re.fullmatch(r"[^:\[\]]+:\d+", value.strip()):
            shown = value.strip().rsplit(":", 1)[0]
            raise ValueError(f"a host name takes no port: give {shown!r}, not {value.strip()!r}")
        raise ValueError(f"not a host name or an IP address: {value!r}")
    return name


def _normal(value: str) -> str | None:
    """A host name or IP address in one spelling, or None if it is neither."""
    text = value.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        try:
            return str(ipaddress.IPv6Address(text))
        except ValueError:
            return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    text = text[:-1] if text.endswith(".") else text
    return text if len(text) <= 253 and _NAME.fullmatch(text) else None


def _header_name(value: str) -> str | None:
    """The host of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), or None if malformed."""
    text = value.strip()
    match = _HOST_HEADER.fullmatch(text)
    if match is not None:
        host = match["host"]
    elif ":" in text and "[" not in text:
        host = text  # a bare IPv6 address: not valid HTTP, but harmless to read
    else:
        return None
    return _normal(host) if host else None


class AllowedHosts:
    """The host names an app answers to: the loopback names, ``names``, and with an address of all
    interfaces among them, every IP address and this machine's host name."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        if isinstance(names, str):
            names = [names]  # one name, not its letters
        given = {host_name(name) for name in names}
        self.any_address = bool(given & set(ALL_INTERFACES))
        self.names = frozenset(given - set(ALL_INTERFACES)) | set(LOOPBACK_NAMES)
        if self.any_address:
            machine = _normal(socket.gethostname())
            self.names |= {machine} if machine else set()

    def allows(self, header: str) -> bool | None:
        """Whether a request with this ``Host`` header is answered; None if the header is malformed."""
        name = _header_name(header)
        if name is None:
            return None
        if name in self.names:
            return True
        if self.any_address:
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                pass
        return False

    def __repr__(self) -> str:
        return f"AllowedHosts({sorted(self.names)!r}, any_address={self.any_address})"


class HostCheck:
    """Answer requests whose ``Host`` is not allowed with 421 ``{"error": ...}`` (400 if missing or malformed)."""

    def __init__(self, app, hosts: AllowedHosts) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the app has no websockets: Starlette closes them unrouted
            await self.app(scope, receive, send)
            return
        values = [value for name, value in scope.get("headers", ()) if name == b"host"]
        if len(values) != 1:
            problem = "the request has no Host header" if not values else "the request has more than one Host header"
            await send_error(send, 400, problem)
            return
        header = values[0].decode("latin-1")
        allowed = self.hosts.allows(header)
        if allowed is None:
            await send_error(send, 400, f"the Host header {reprlib.repr(header)} is not a host name")
        elif not allowed:
            message = (
                f"host {_header_name(header)!r} is not served here: the server answers to the names "
                "it was started for (digitzoo serve --allow-host NAME adds one)"
            )
            await send_error(send, 421, message)
        else:
            await self.app(scope, receive, send)
