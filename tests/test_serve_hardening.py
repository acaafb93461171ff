"""The server against hostile clients: malformed requests, stalled connections, a forged Host header.

The real waitress server runs in a thread of the test process, on a loopback
port chosen by the system; every test closes what it opens.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from conftest import cli
from search.settings import resolve
from webapp import create_app
from webapp.serve import ServeError, addresses, make_server, shutdown

SECURITY_HEADERS = ["Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"]
EVIL = "evil.example"


@pytest.fixture(scope="module")
def app(small_index: Path):  # type: ignore[no-untyped-def]
    """An app of this module's own: serving it fills in its public_url, which other tests must not see."""
    return create_app({"INDEX": str(small_index), "TESTING": True})


@contextmanager
def running(app: Any, **settings: Any) -> Iterator[tuple[str, int]]:
    """Serve ``app`` on 127.0.0.1 and a free port, with ``settings``; yield (host, port)."""
    config = resolve({"host": "127.0.0.1", "port": 0, **settings}, environ={})
    server = make_server(app, config)
    thread = threading.Thread(target=server.run, name="baheth-test-server", daemon=True)
    thread.start()
    try:
        yield addresses(server)[0]
    finally:
        shutdown(server)
        thread.join(timeout=10)
        assert not thread.is_alive(), "the server loop did not stop"


def exchange(address: tuple[str, int], raw: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read until the server closes; (status, headers, body).

    The bytes are sent from a second thread so that a server that answers
    before reading everything (a request too large) is read, not deadlocked.
    """
    with socket.create_connection(address, timeout=timeout) as sock:

        def send() -> None:
            with suppress(OSError):  # the server may answer and close before taking it all
                sock.sendall(raw)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        data = b""
        with suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                data += chunk
        sender.join(timeout=timeout)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1."), data[:200]
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def get(address: tuple[str, int], path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    host, port = address
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as response:
        return response.status, response.read()


# -- the server's own answers carry the security headers ----------------------------

TOO_MANY_HEADERS = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"a" * 1000) for n in range(80))

MALFORMED = [
    pytest.param(b"GARBAGE\r\n\r\n", 400, id="not-a-request-line"),
    pytest.param(b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431, id="100KB-request-line"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n" + TOO_MANY_HEADERS + b"\r\n", 431, id="80KB-of-headers"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431, id="70KB-header"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, id="negative-length"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n", 400, id="length-not-digits"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400, id="te-gzip"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400, id="te-gzip-chunked"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", 400, id="bad-chunk"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413, id="2MB-body-declared"),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"100000\r\n" + b"a" * 0x100000 + b"\r\n",
        413,
        id="1MB-chunk",
    ),
    pytest.param(b"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400, id="header-without-colon"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\nX-Smuggle: y\r\n\r\n", 400, id="bare-newline"),
    pytest.param(b"G\x00T / HTTP/1.1\r\n\r\n", 400, id="nul-in-method"),
]


@pytest.fixture(scope="module")
def server(app: Any) -> Iterator[tuple[str, int]]:
    with running(app) as address:
        yield address


@pytest.mark.parametrize(("raw", "status"), MALFORMED)
def test_malformed_requests_get_a_4xx_with_the_security_headers(server, raw: bytes, status: int) -> None:  # type: ignore[no-untyped-def]
    got, headers, body = exchange(server, raw)
    assert got == status, body[:200]
    for name in SECURITY_HEADERS:
        assert name in headers, f"{name} missing from the {got} answer"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Server"] == "baheth" and b"generated by baheth" in body
    assert headers["Connection"] == "close"


def test_the_app_still_answers_on_the_same_server(server) -> None:  # type: ignore[no-untyped-def]
    status, headers, body = exchange(server, b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert list(headers).count("Content-Security-Policy") == 1  # Flask's, not doubled


def test_a_crash_past_flask_is_a_500_with_the_security_headers() -> None:
    def broken(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raise RuntimeError("a bug that escaped the app")

    with running(broken) as address:
        status, headers, body = exchange(address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 500 and b"a bug that escaped" not in body  # no traceback for the client
    for name in SECURITY_HEADERS:
        assert name in headers


# -- slow clients ----------------------------------------------------------------------


@contextmanager
def stalled(address: tuple[str, int], half_lines: int, silent: int) -> Iterator[list[socket.socket]]:
    """Connections that send half a request line and stall, and connections that send nothing."""
    socks: list[socket.socket] = []
    try:
        for n in range(half_lines + silent):
            sock = socket.create_connection(address, timeout=5)
            socks.append(sock)
            if n < half_lines:
                sock.sendall(b"GET /?q=%d HTT" % n)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def closed_by_server(socks: list[socket.socket], deadline: float) -> list[socket.socket]:
    """Wait until ``deadline`` (monotonic) for the server to close each socket; the ones it closed."""
    poller = select.poll()
    by_fd = {sock.fileno(): sock for sock in socks}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    closed = []
    while by_fd and (left := deadline - time.monotonic()) > 0:
        for fd, _ in poller.poll(left * 1000):
            try:
                data = by_fd[fd].recv(1024)
            except ConnectionResetError:
                data = b""
            assert data == b"", f"a stalled connection was answered: {data[:100]!r}"
            closed.append(by_fd.pop(fd))
            poller.unregister(fd)
    return closed


def test_stalled_connections_do_not_stop_others_and_are_closed_after_the_timeout(app: Any) -> None:
    with running(app, connection_limit=1000, channel_timeout=2) as address:
        with stalled(address, half_lines=200, silent=50) as socks:
            opened = time.monotonic()
            started = time.monotonic()
            status, body = get(address, "/api/health", timeout=5)
            assert status == 200 and json.loads(body)["status"] == "ok"
            assert time.monotonic() - started < 2.0
            assert closed_by_server(socks, deadline=opened + 1.0) == []  # not before the timeout
            closed = closed_by_server(socks, deadline=opened + 6.0)
            assert len(closed) == len(socks), f"{len(socks) - len(closed)} stalled connections still open after 6 s"
            assert get(address, "/api/health")[0] == 200


def test_more_stalled_connections_than_the_limit_wait_only_for_the_timeout(app: Any) -> None:
    # Beyond connection_limit new connections wait in the backlog, so others are
    # delayed by about channel_timeout per limit's worth of stalled clients, not for ever.
    with running(app, connection_limit=100, channel_timeout=1) as address:
        with stalled(address, half_lines=200, silent=50):
            started = time.monotonic()
            status, _ = get(address, "/api/health", timeout=15)
            assert status == 200
            assert time.monotonic() - started < 10.0


def test_a_client_trickling_a_request_is_closed_after_the_timeout(app: Any) -> None:
    with running(app, channel_timeout=2) as address, socket.create_connection(address, timeout=5) as sock:
        started = time.monotonic()
        request = b"GET /api/health HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 1000
        closed_at = None
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # the server closed it: reset by peer or broken pipe
                closed_at = time.monotonic()
                break
            if closed_by_server([sock], deadline=time.monotonic() + 0.2):
                closed_at = time.monotonic()
                break
            if time.monotonic() - started > 10:
                break
        assert closed_at is not None, "a trickling client held its connection for 10 s"
        assert 1.5 < closed_at - started < 5.0


# -- the Host header is not trusted -----------------------------------------------------


@pytest.mark.parametrize("path", ["/opensearch.xml", "/api/openapi.json"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Host": EVIL},
        {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https", "Forwarded": f"host={EVIL}"},
    ],
    ids=["host", "forwarded"],
)
def test_links_never_echo_the_host_header(small_index: Path, path: str, headers: dict[str, str]) -> None:
    client = create_app({"INDEX": str(small_index), "TESTING": True}).test_client()
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    assert EVIL not in response.get_data(as_text=True)


def test_without_public_url_links_are_relative(small_index: Path) -> None:
    client = create_app({"INDEX": str(small_index), "TESTING": True}).test_client()
    xml = client.get("/opensearch.xml").get_data(as_text=True)
    assert 'template="/?q={searchTerms}"' in xml and 'template="/api/search?q={searchTerms}"' in xml
    assert client.get("/api/openapi.json").get_json()["servers"] == [{"url": "/"}]


@pytest.mark.parametrize("public_url", ["https://search.example.org", "https://search.example.org/"])
def test_public_url_makes_the_links(small_index: Path, public_url: str) -> None:
    client = create_app({"INDEX": str(small_index), "TESTING": True, "public_url": public_url}).test_client()
    xml = client.get("/opensearch.xml", headers={"Host": EVIL}).get_data(as_text=True)
    assert 'template="https://search.example.org/?q={searchTerms}"' in xml
    assert 'template="https://search.example.org/api/search?q={searchTerms}"' in xml
    spec = client.get("/api/openapi.json", headers={"Host": EVIL}).get_json()
    assert spec["servers"] == [{"url": "https://search.example.org"}]


def test_a_served_app_links_to_the_address_it_is_bound_to(small_index: Path) -> None:
    app = create_app({"INDEX": str(small_index), "TESTING": True})
    with running(app) as address:
        base = f"http://{address[0]}:{address[1]}"
        request = f"GET /opensearch.xml HTTP/1.1\r\nHost: {EVIL}\r\nConnection: close\r\n\r\n".encode()
        status, _, body = exchange(address, request)
        assert status == 200
        assert f'template="{base}/?q={{searchTerms}}"'.encode() in body and EVIL.encode() not in body
        request = f"GET /api/openapi.json HTTP/1.1\r\nHost: {EVIL}\r\nConnection: close\r\n\r\n".encode()
        assert json.loads(exchange(address, request)[2])["servers"] == [{"url": base}]


# -- starting ----------------------------------------------------------------------------


def test_a_taken_port_is_a_serve_error_with_a_plain_message(app: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = resolve({"host": "127.0.0.1", "port": port}, environ={})
        with pytest.raises(ServeError, match=rf"^cannot listen on 127\.0\.0\.1:{port}: address already in use$"):
            make_server(app, config)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_host_that_is_no_address_is_one_line(small_index: Path, workers: str) -> None:
    """`--host 256.1.1.1` (no address, no name): one `Error:` line and exit 1, whichever server starts."""
    done = cli("serve", "--host", "256.1.1.1", "--port", "0", "--workers", workers, "--index", small_index, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("Error: cannot listen on 256.1.1.1"), done.stderr
