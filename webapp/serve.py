"""Serve the app on waitress, hardened for the open internet.

Requests are bounded (the app only answers small GETs); a connection that
stays silent for ``channel_timeout`` seconds is closed, and so is one whose
request has not arrived whole by then (a client trickling bytes); at most
``connection_limit`` are held open; the event loop uses poll(), which, unlike
select(), works past 1024 open descriptors. The answers waitress writes itself
(a request it cannot parse, too large, or an app that raised) carry the same
security headers as the app's own, through a channel class set on the
listening servers: waitress's ``channel_class`` hook, no patched modules.
"""

from __future__ import annotations

import ctypes
import ipaddress
import sys
from typing import Any

from flask import Flask
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server
from waitress.task import ErrorTask
from waitress.utilities import BadRequest, ServerNotImplemented

from search.settings import Config
from webapp.security import missing_headers

MAX_REQUEST_HEADER_BYTES = 64 * 1024  # the request line and headers, together
MAX_REQUEST_BODY_BYTES = 1024 * 1024  # the app reads no body; this only bounds what is buffered
IDENT = "baheth"  # the Server header and the signature of waitress's own error pages

Server = BaseWSGIServer | MultiSocketServer


class ServeError(RuntimeError):
    """The server cannot start listening; the one-line message names the address and why."""


class SecureErrorTask(ErrorTask):
    """Waitress's own error answer (400, 413, 431, 500), with the app's security headers."""

    def execute(self) -> None:
        error = self.request.error
        if isinstance(error, ServerNotImplemented):
            # The parser's only 501: a Transfer-Encoding other than chunked. Without chunked as the
            # last coding the body's length is unknown, and RFC 9112 section 6.3 answers that with 400.
            self.request.error = BadRequest(error.body)
        self.response_headers.extend(missing_headers(name for name, _ in self.response_headers))
        super().execute()


class Channel(HTTPChannel):
    """One client connection; its error answers carry the security headers.

    Waitress closes a connection silent for channel_timeout seconds; a client
    that trickles a byte at a time is never silent. So while a request is
    incomplete its activity stays at the time it began: a request must arrive
    whole within channel_timeout, or the connection is closed.
    """

    error_task_class = SecureErrorTask
    request_began: float | None = None

    def handle_read(self) -> None:
        super().handle_read()
        if self.request is None:  # nothing half-received
            self.request_began = None
        elif self.request_began is None:
            self.request_began = self.last_activity
        else:
            self.last_activity = self.request_began


def adjustments(config: Config) -> dict[str, Any]:
    """Waitress's keyword settings for ``config``."""
    return {
        "host": config.host,
        "port": config.port,
        "threads": config.threads,
        "connection_limit": config.connection_limit,
        "channel_timeout": config.channel_timeout,
        # Idle connections are looked for this often, so one is closed within 1.5 timeouts.
        "cleanup_interval": max(1, min(30, config.channel_timeout // 2)),
        "asyncore_use_poll": True,
        "ident": IDENT,
        "max_request_header_size": MAX_REQUEST_HEADER_BYTES,
        "max_request_body_size": MAX_REQUEST_BODY_BYTES,
        "clear_untrusted_proxy_headers": True,
    }


def make_server(app: Flask, config: Config) -> Server:
    """Bind and listen (not yet serving: call ``.run()``); ``addresses(server)`` tells the real port.

    Raises ServeError when the address cannot be listened on (taken, not allowed, unknown).
    """
    socket_map: dict[int, Any] = {}
    try:
        server = create_server(app, map=socket_map, **adjustments(config))
    except OSError as exc:
        _close(socket_map)
        reason = (exc.strerror or str(exc)).lower()
        raise ServeError(f"cannot listen on {_address(config.host, config.port)}: {reason}") from exc
    for listener in _listeners(socket_map):
        listener.channel_class = Channel
    _advertise(app, server)
    return server


def serve(app: Flask, config: Config) -> None:
    """Serve ``app`` until interrupted, on the address and with the limits in ``config``."""
    _few_malloc_arenas()
    server = make_server(app, config)
    for host, port in addresses(server):
        print(f"serving on http://{_address(host, port)}/", file=sys.stderr, flush=True)
    server.run()


M_ARENA_MAX = -8  # from <malloc.h>
MALLOC_ARENAS = 2


def _few_malloc_arenas() -> None:
    """Let glibc keep 2 malloc arenas instead of 8 per core: each worker thread would
    otherwise hold its own arena of freed memory, and the server's memory would grow
    with the number of threads that once served a large request. Before any thread starts."""
    try:
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to set


def addresses(server: Server) -> list[tuple[str, int]]:
    """The (host, port) pairs a server made by ``make_server`` listens on, with real port numbers."""
    if isinstance(server, MultiSocketServer):
        return [(str(host), int(port)) for host, port in server.effective_listen]
    return [(str(server.effective_host), int(server.effective_port))]


def shutdown(server: Server) -> None:
    """Stop a running server from another thread: its loop closes every socket and ends, its workers stop."""
    socket_map = server.map if isinstance(server, MultiSocketServer) else server._map
    listeners = _listeners(socket_map)
    if listeners:
        listeners[0].trigger.pull_trigger(lambda: wasyncore.close_all(socket_map, ignore_all=True))
        _stop_workers(listeners)


def _listeners(socket_map: dict[int, Any]) -> list[BaseWSGIServer]:
    return [d for d in list(socket_map.values()) if isinstance(d, BaseWSGIServer)]


def _stop_workers(listeners: list[BaseWSGIServer]) -> None:
    for dispatcher in {id(x.task_dispatcher): x.task_dispatcher for x in listeners}.values():
        dispatcher.shutdown(timeout=5)


def _close(socket_map: dict[int, Any]) -> None:
    """Undo a server that failed to start: its workers and whatever sockets it opened."""
    _stop_workers(_listeners(socket_map))
    wasyncore.close_all(socket_map, ignore_all=True)


def _advertise(app: Flask, server: Server) -> None:
    """With public_url empty, links name the one concrete address bound (the real port, even for port 0).

    A wildcard address (0.0.0.0, ::) names no host a reader can reach, so links stay relative.
    """
    config = getattr(app, "config", {}).get("BAHETH")
    bound = addresses(server)
    if config is None or config.public_url or len(bound) != 1:
        return
    host, port = bound[0]
    if not ipaddress.ip_address(host).is_unspecified:
        app.config["BAHETH"] = config.replace(public_url=f"http://{_address(host, port)}")


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
