"""Serve digitzoo and draw on its page in a real Chromium: shared by the browser tests
(``tests/web/test_web_browser.py``) and the README's screenshot (``tools/make_screenshot.py``).

Playwright drives Debian's Chromium (``/usr/bin/chromium``); it never downloads a browser.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from helpers import sigint_at_default

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "STROKES",
    "Server",
    "digitzoo_command",
    "draw",
    "draw_by_touch",
    "free_port",
    "launch_chromium",
    "local_client",
    "serve",
    "wait_for_answer",
]

CHROMIUM = "/usr/bin/chromium"
# We may run as root, and the machine may have no network: no sandbox, no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

Point = tuple[float, float]

# Digits drawn as polylines in the canvas's unit square (x right, y down), each a list of strokes,
# written the way a person writes them; the right answer is known by construction.
STROKES: dict[str, list[list[Point]]] = {
    "7": [[(0.28, 0.22), (0.72, 0.22), (0.58, 0.45), (0.45, 0.80)]],
    "1": [[(0.42, 0.28), (0.52, 0.18), (0.52, 0.82)]],
    # An ellipse, from the top round anticlockwise and back to the top.
    "0": [[(0.5 - 0.2 * math.sin(t * math.pi / 12), 0.5 - 0.3 * math.cos(t * math.pi / 12)) for t in range(25)]],
    "4": [[(0.55, 0.18), (0.26, 0.60), (0.76, 0.60)], [(0.62, 0.35), (0.62, 0.84)]],
}


def digitzoo_command() -> list[str]:
    """The installed ``digitzoo`` beside this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "digitzoo"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("digitzoo")
    if found is None:
        raise FileNotFoundError(f"no digitzoo command beside {sys.executable} or on PATH")
    return [found]


def local_client(app, **kwargs):
    """FastAPI's test client, its requests sent to ``localhost``: its own host name (testserver)
    is none the app answers to, as a name no site could have pointed at the server."""
    from fastapi.testclient import TestClient

    return TestClient(app, base_url="http://localhost", **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running ``digitzoo serve``: its process, base URL and output (read after it stops)."""

    process: subprocess.Popen
    url: str
    log: Path
    output: str = field(default="", repr=False)


@contextlib.contextmanager
def serve(
    home: Path, *, args: Sequence[str] = (), command: Sequence[str] | None = None, timeout: float = 180.0
) -> Iterator[Server]:
    """Start ``digitzoo serve`` on a free loopback port with ``home`` as DIGITZOO_HOME, wait until
    ``/api/models`` answers, and always stop it afterwards (SIGINT, then kill)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "DIGITZOO_HOME": str(home), "NO_COLOR": "1"}
    log = home / "serve.log"
    argv = [*(command or digitzoo_command()), "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True, preexec_fn=sigint_at_default
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_up(server, timeout)
        yield server
    finally:
        _stop(process)
        server.output = log.read_text(errors="replace")


def _wait_until_up(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"digitzoo serve exited with {server.process.returncode}:\n{server.log.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(server.url + "/api/models", timeout=5) as response:
                json.load(response)
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            time.sleep(0.25)
    log = server.log.read_text(errors="replace")
    raise TimeoutError(f"digitzoo serve did not answer within {timeout:.0f} s:\n{log}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends: the server's clean way out
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def launch_chromium(playwright):
    """Debian's headless Chromium through Playwright."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def draw(page, strokes: Sequence[Sequence[Point]], *, canvas: str = "#canvas", steps: int = 6) -> None:
    """Draw ``strokes`` (unit-square polylines) on the canvas with real mouse events: one
    down-move-up per stroke, ``steps`` pointer moves between neighbouring points."""
    box = page.locator(canvas).bounding_box()
    assert box is not None, f"{canvas} is not visible"

    def at(point: Point) -> tuple[float, float]:
        return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]

    for stroke in strokes:
        page.mouse.move(*at(stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(point), steps=steps)
        page.mouse.up()


def draw_by_touch(page, strokes: Sequence[Sequence[Point]], *, canvas: str = "#canvas", steps: int = 6) -> None:
    """Draw ``strokes`` with a finger: touch events through the Chrome DevTools Protocol (Playwright's
    touchscreen only taps), which the browser turns into touch pointer events."""
    box = page.locator(canvas).bounding_box()
    assert box is not None, f"{canvas} is not visible"
    cdp = page.context.new_cdp_session(page)
    try:
        for stroke in strokes:
            points = [stroke[0]]
            for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
                points += [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps) for k in range(1, steps + 1)]
            for i, (x, y) in enumerate(points):
                kind = "touchStart" if i == 0 else "touchMove"
                where = {"x": box["x"] + x * box["width"], "y": box["y"] + y * box["height"]}
                cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [where]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def wait_for_answer(page, answers: int, *, area: str = "#result", timeout: float = 60_000) -> str:
    """Wait until ``area`` has given ``answers`` answers in all (``data-answers``) and is no longer
    busy; return its state (``done`` or ``error``)."""
    page.wait_for_function(
        """([area, n]) => {
            const el = document.querySelector(area);
            return Number(el.dataset.answers) >= n && el.dataset.state !== "busy";
        }""",
        arg=[area, answers],
        timeout=timeout,
    )
    return page.get_attribute(area, "data-state")
