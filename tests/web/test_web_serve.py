"""``digitzoo serve`` as a user runs it: a real process on a loopback port, stopped with Ctrl-C.

Every wait has a timeout and the process is killed whatever happens, so a test cannot hang.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from helpers import sigint_at_default
from digitzoo.web.server import is_loopback, url_of
from digitzoo.weights import best_pretrained
from digitzoo_cli.main import cli

START_TIMEOUT = 120  # seconds: loading the model on a loaded CI machine
_LINE = "digitzoo serve: http://127.0.0.1:{port} (model cnn-best-ensemble; Ctrl-C stops)"
_REFUSED = (
    "host {!r} is not served here: the server answers to the names it was started for "
    "(digitzoo serve --allow-host NAME adds one)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    """Nobody listens on ``port`` and a server could bind it again at once.

    SO_REUSEADDR as every server sets it: the closed connections of the test stay in TIME_WAIT
    on that port for a minute, which only a plain bind minds.
    """
    with socket.socket() as client:
        if client.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
        except OSError:
            return False
        return True


def _start(*args: str) -> subprocess.Popen:
    command = [sys.executable, "-c", "from digitzoo_cli.main import cli; cli()", "serve", *args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=sigint_at_default
    )


def _first_line(process: subprocess.Popen, timeout: float) -> str:
    """The first line the server prints, or the failure with its stderr."""
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout):
        process.kill()
        pytest.fail(f"digitzoo serve printed nothing in {timeout} s: {process.communicate()[1]}")
    return process.stdout.readline().rstrip("\n")


def _get(port: int, host: str | None = None) -> tuple[int, dict]:
    """Status and JSON body of GET /api/models, with ``host`` as the Host header if given."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/models", headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, json.load(refused)


@pytest.mark.slow
@pytest.mark.parametrize("signum, last_line", [(signal.SIGINT, "Interrupted"), (signal.SIGTERM, "Terminated")])
def test_serve_starts_answers_and_stops_on_a_signal(signum, last_line):
    port = _free_port()
    process = _start("--port", str(port), "--quiet", "--allow-host", "digits.example")
    try:
        line = _first_line(process, START_TIMEOUT)
        assert line == _LINE.format(port=port), process.stderr.read() if process.poll() is not None else line
        status, body = _get(port)
        assert status == 200 and body["default"] == best_pretrained() and any(m["name"] == best_pretrained() for m in body["models"])
        # Only the names it serves: another site's name (DNS rebinding) is refused in one JSON line.
        for host in (f"localhost:{port}", f"digits.example:{port}", "[::1]"):
            assert _get(port, host)[0] == 200, host
        assert _get(port, f"evil.example:{port}") == (421, {"error": _REFUSED.format("evil.example")})
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1] == last_line and "Traceback" not in err
    assert _port_is_free(port)


@pytest.mark.slow
def test_a_signal_right_after_the_address_still_stops_the_server():
    # The address is printed once uvicorn handles signals: a SIGTERM sent at once is not lost.
    port = _free_port()
    process = _start("--port", str(port), "--quiet")
    try:
        assert _first_line(process, START_TIMEOUT) == _LINE.format(port=port)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 128 + signal.SIGTERM, err


@pytest.mark.slow
def test_a_port_in_use_is_one_error_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        process = _start("--port", str(port))
        try:
            out, err = process.communicate(timeout=START_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 1
    assert out == ""
    assert err == f"Error: cannot listen on http://127.0.0.1:{port}: the port is already in use\n"


def test_unknown_models_fail_before_anything_starts(monkeypatch):
    from digitzoo.web import server

    monkeypatch.setattr(server, "_bind", lambda *a: pytest.fail("bound a port for an unknown model"))
    result = CliRunner().invoke(cli, ["serve", "--model", "cnn-bestt"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: unknown model 'cnn-bestt'; did you mean cnn-best")
    result = CliRunner().invoke(cli, ["serve", "--model", "lenet5"])
    assert result.exit_code == 1
    assert result.output == "Error: model 'lenet5' has no trained weights here; run `digitzoo train lenet5` first\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nan", "must be a finite number, got nan"),
        ("inf", "inf is not in the range 0.001<=x<=1024."),
        ("0", "0.0 is not in the range 0.001<=x<=1024."),
    ],
)
def test_a_max_upload_that_is_no_finite_size_is_a_usage_error(monkeypatch, value, message):
    from digitzoo.web import server

    monkeypatch.setattr(server, "serve", lambda *a, **k: pytest.fail("served with a bad --max-upload-mb"))
    result = CliRunner().invoke(cli, ["serve", "--max-upload-mb", value])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == f"Error: Invalid value for '--max-upload-mb': {message}"


def test_another_host_is_warned_about(monkeypatch):
    from digitzoo.web import server

    def run(host, port, model, *, max_upload_bytes, allowed_hosts, quiet, on_ready):
        # The CLI's part only: uvicorn inside CliRunner would point its log handlers at the
        # runner's captured stderr, which is closed once the command returns.
        on_ready(url_of(host, 8123), "cnn-best")
        raise KeyboardInterrupt  # Ctrl-C once the server has announced itself

    monkeypatch.setattr(server, "serve", run)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0", "--quiet"])
    assert result.exit_code == 130, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("digitzoo serve: http://0.0.0.0:")
    assert lines[0].endswith("(model cnn-best; Ctrl-C stops)")
    assert lines[1] == "warning: listening on 0.0.0.0: the page is reachable from other machines"
    assert server.is_loopback("127.0.0.1") and server.is_loopback("localhost") and server.is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("example.org")
    assert url_of("::1", 80) == "http://[::1]:80"
