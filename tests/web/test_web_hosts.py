"""The web app answers only to the host names it was started for: no other site can read its API
through DNS rebinding (a page whose own name resolves to 127.0.0.1 sends that name as ``Host``)."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from digitzoo.web import create_app
from digitzoo.web.hosts import AllowedHosts, HostCheck, host_name
from digitzoo.weights import best_pretrained
from digitzoo_cli.main import cli

_REFUSED = (
    "host {!r} is not served here: the server answers to the names it was started for "
    "(digitzoo serve --allow-host NAME adds one)"
)


@pytest.fixture(scope="module")
def app():
    return create_app(allowed_hosts=["digits.example.org"])


def _get(app, host: str):
    with TestClient(app, base_url="http://127.0.0.1:8765", raise_server_exceptions=False) as client:
        return client.get("/api/models", headers={"host": host})


def _refusal(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"] and "\n" not in body["error"]
    return body["error"]


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8765",
        "LOCALHOST:8765",
        "localhost.:8765",
        "127.0.0.1:8765",
        "127.0.0.1",
        "[::1]:8765",
        "[::1]",
        "digits.example.org:8000",
        "Digits.Example.Org",
    ],
)
def test_the_names_the_server_was_started_for_are_answered(app, host):
    response = _get(app, host)
    assert response.status_code == 200, response.text
    assert response.json()["default"] == best_pretrained()


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("evil.example:8765", "evil.example"),
        ("evil.example", "evil.example"),
        ("localhost.evil.example", "localhost.evil.example"),
        ("example.org", "example.org"),
        ("digits.example.org.evil.example", "digits.example.org.evil.example"),
        ("192.168.1.20:8765", "192.168.1.20"),  # bound to loopback: no other address reaches it
        ("testserver", "testserver"),
    ],
)
def test_any_other_host_is_421_in_one_json_line(app, host, name):
    assert _refusal(_get(app, host), 421) == _REFUSED.format(name)


@pytest.mark.parametrize("host", ["", "a b", "[::1", "localhost:http", "local/host", "localhost:80:80"])
def test_a_malformed_host_is_400(app, host):
    assert _refusal(_get(app, host), 400) == f"the Host header {host!r} is not a host name"


def test_every_path_is_guarded_the_page_and_its_files_too(app):
    with TestClient(app, base_url="http://evil.example", raise_server_exceptions=False) as client:
        for response in (client.get("/"), client.get("/static/app.js"), client.post("/api/filter", json={})):
            assert _refusal(response, 421) == _REFUSED.format("evil.example")


def _raw(hosts: AllowedHosts, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict]:
    """Status and JSON body of the check alone, for headers no HTTP client sends."""

    async def app(scope, receive, send):
        raise AssertionError("the app ran")

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(HostCheck(app, hosts)({"type": "http", "headers": headers}, None, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_no_host_header_or_two_are_400():
    assert _raw(AllowedHosts(), []) == (400, {"error": "the request has no Host header"})
    two = [(b"host", b"localhost"), (b"host", b"evil.example")]
    assert _raw(AllowedHosts(), two) == (400, {"error": "the request has more than one Host header"})


def test_all_interfaces_allow_any_address_and_this_machines_name():
    # Bound to 0.0.0.0 the server is reached by any of its addresses; an address in Host cannot be
    # a rebinding (the page's origin is then the server itself). Names still have to be given.
    for bound in ("0.0.0.0", "::", "[::]"):
        hosts = AllowedHosts([bound])
        assert hosts.allows("192.168.1.20:8000") and hosts.allows("[fe80::1]:8000") and hosts.allows("10.0.0.1")
        assert hosts.allows(f"{socket.gethostname()}:8000")
        assert hosts.allows("localhost:8000") and hosts.allows("127.0.0.1")
        assert hosts.allows("evil.example") is False and hosts.allows("evil.example:8000") is False
    loopback = AllowedHosts(["127.0.0.1"])
    assert loopback.allows("192.168.1.20") is False and loopback.allows("evil.example") is False


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Example.ORG", "example.org"),
        ("example.org.", "example.org"),
        ("[::1]", "::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("0.0.0.0", "0.0.0.0"),
        ("my_host-2", "my_host-2"),
    ],
)
def test_host_names_are_kept_in_one_spelling(given, kept):
    assert host_name(given) == kept


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("example.org:8000", "a host name takes no port: give 'example.org', not 'example.org:8000'"),
        ("*", "not a host name or an IP address: '*'"),
        ("*.example.org", "not a host name or an IP address: '*.example.org'"),
        ("", "not a host name or an IP address: ''"),
        ("http://example.org", "not a host name or an IP address: 'http://example.org'"),
        ("a..b", "not a host name or an IP address: 'a..b'"),
    ],
)
def test_bad_allowed_hosts_are_refused_naming_the_rule(given, message):
    with pytest.raises(ValueError) as raised:
        host_name(given)
    assert str(raised.value) == message
    with pytest.raises(ValueError):
        create_app(allowed_hosts=[given])


def test_serve_passes_its_host_and_allow_host_to_the_app(monkeypatch):
    from digitzoo.web import server

    seen = {}

    def create(model, *, max_upload_bytes, allowed_hosts):
        seen["allowed_hosts"] = list(allowed_hosts)
        raise KeyboardInterrupt  # nothing is served in this test

    monkeypatch.setattr("digitzoo.web.app.create_app", create)
    with pytest.raises(KeyboardInterrupt):
        server.serve("0.0.0.0", 0, allowed_hosts=["digits.example.org"])
    assert seen["allowed_hosts"] == ["0.0.0.0", "digits.example.org"]


def test_allow_host_is_repeatable_and_checked_by_the_cli(monkeypatch):
    from digitzoo.web import server

    seen = {}

    def run(host, port, model, *, max_upload_bytes, allowed_hosts, quiet, on_ready):
        seen.update(host=host, allowed_hosts=allowed_hosts)

    monkeypatch.setattr(server, "serve", run)
    result = CliRunner().invoke(cli, ["serve", "--allow-host", "Digits.Example.org", "--allow-host", "[::2]"])
    assert result.exit_code == 0, result.output
    assert seen == {"host": "127.0.0.1", "allowed_hosts": ("digits.example.org", "::2")}
    result = CliRunner().invoke(cli, ["serve", "--allow-host", "example.org:8000"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for '--allow-host': a host name takes no port: give 'example.org', not 'example.org:8000'"
    )
