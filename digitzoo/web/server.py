"""Running the web app with uvicorn: the model loaded once, the port bound before anything is
announced, Ctrl-C a clean stop."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable

from ..errors import DigitzooError
from .hosts import host_name
from .limits import DEFAULT_MAX_UPLOAD_BYTES

__all__ = ["is_loopback", "url_of", "serve"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine (``localhost``, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    model: str | None = None,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    allowed_hosts: Iterable[str] = (),
    quiet: bool = False,
    on_ready: Callable[[str, str], None] | None = None,
) -> None:
    """Serve the page and the API on ``host``:``port`` until interrupted.

    Requests are answered only if their ``Host`` names ``localhost``, a loopback address,
    ``host`` itself or one of ``allowed_hosts`` (with any port), so that no other site can read
    the API through DNS rebinding; other hosts get 421. Bound to all interfaces (``host`` 0.0.0.0
    or ::), any IP address and this machine's host name are answered too; other names by which
    other machines reach it (a DNS name) must be in ``allowed_hosts``.

    ``model`` (None: the most accurate shipped one) is loaded first, then the port is bound;
    ``on_ready(url, model_name)`` is called once the server has started and handles signals. A
    port that is taken or a host that cannot be bound is a ``DigitzooError``. Ctrl-C (SIGINT) or
    SIGTERM stops the server gracefully and is then raised again as the signal, so a caller sees
    the KeyboardInterrupt it expects. ``quiet`` keeps uvicorn to warnings and errors.
    """
    import uvicorn

    from .app import create_app

    if isinstance(allowed_hosts, str):
        allowed_hosts = [allowed_hosts]
    try:
        bound = [host_name(host)]
    except ValueError:
        bound = []  # no name a client could send: _bind says what is wrong with it
    app = create_app(model, max_upload_bytes=max_upload_bytes, allowed_hosts=[*bound, *allowed_hosts])
    sock = _bind(host, port)
    try:
        bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning" if quiet else "info",
            access_log=not quiet,
            lifespan="off",  # the app needs no start-up or shut-down events: the model is loaded above
            timeout_graceful_shutdown=5,
        )
        url, name = url_of(host, bound_port), app.state.models.default

        class Server(uvicorn.Server):
            async def startup(self, sockets=None) -> None:
                await super().startup(sockets=sockets)
                # Announced only now: uvicorn's own Ctrl-C/SIGTERM handlers are in place, so a
                # signal sent as soon as the address is printed stops the server gracefully.
                if self.started and on_ready is not None:
                    on_ready(url, name)

        Server(config).run(sockets=[sock])
    finally:
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: any free port), or one ``DigitzooError`` line."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise DigitzooError(f"port must be a whole number from 0 to 65535, got {port!r}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise DigitzooError(f"cannot serve on host {host!r}: {exc.strerror or exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        # As uvicorn does: a restart may rebind at once, while the last run's connections close.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason = "the port is already in use" if exc.errno in (98, 48, 10048) else (exc.strerror or str(exc))
        raise DigitzooError(f"cannot listen on {url_of(host, port)}: {reason}") from None
    return sock
