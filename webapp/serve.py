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
import mmap
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server
from waitress.task import ErrorTask, WSGITask
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


class BalancedTask(WSGITask):
    """One request's answer; it closes its keep-alive connection (saying so: ``Connection:
    close``) when this worker holds more than its share of the connections, so the client's
    next connection goes to a less busy worker."""

    def build_response_header(self) -> bytes:
        shed = getattr(self.channel.server, "shed", None)
        if shed is not None and not self.close_on_finish and shed():
            self.set_close_on_finish()
        return super().build_response_header()


class Channel(HTTPChannel):
    """One client connection; its error answers carry the security headers.

    Waitress closes a connection silent for channel_timeout seconds; a client
    that trickles a byte at a time is never silent. So while a request is
    incomplete its activity stays at the time it began: a request must arrive
    whole within channel_timeout, or the connection is closed.
    """

    error_task_class = SecureErrorTask
    task_class = BalancedTask
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


def make_server(app: Flask, config: Config, sockets: list[socket.socket] | None = None) -> Server:
    """Bind and listen (not yet serving: call ``.run()``); ``addresses(server)`` tells the real port.

    With ``sockets``, serve those already listening (a worker of a pre-forked server).
    Raises ServeError when the address cannot be listened on (taken, not allowed, unknown).
    """
    socket_map: dict[int, Any] = {}
    settings = adjustments(config)
    if sockets is not None:
        del settings["host"], settings["port"]
        settings["sockets"] = sockets
    try:
        server = create_server(app, map=socket_map, **settings)
    except OSError as exc:
        _close(socket_map)
        reason = (exc.strerror or str(exc)).lower()
        raise ServeError(f"cannot listen on {_address(config.host, config.port)}: {reason}") from exc
    except ValueError as exc:  # waitress: a host that is no address and resolves to none
        _close(socket_map)
        raise ServeError(f"cannot listen on {_address(config.host, config.port)}: {exc}") from exc
    for listener in _listeners(socket_map):
        listener.channel_class = Channel
    _advertise(app, server)
    return server


def serve(app: Flask, config: Config) -> None:
    """Serve ``app`` until interrupted, on the address and with the limits in ``config``.

    With more than one worker (``workers``; 0 is one per core) the parent listens and
    forks the workers, each with its threads and its own engine, all accepting on that
    one socket. A worker accepts only while it holds no more open connections than the
    least busy of the others (least connections, counted in memory they share): keep-alive
    clients hold their connection for many requests, and whichever way the kernel hands
    them out, alone (one shared socket: the first worker to wake took them all) or by
    hashing (SO_REUSEPORT: 8 connections split 6/2 one time in five), one worker queued
    while the other idled. It starts a new worker when one dies. Each worker follows the
    live index on its own, so a reindex is picked up by all of them.
    """
    _few_malloc_arenas()
    workers = config.workers or os.cpu_count() or 1
    if workers == 1:
        server = make_server(app, config)
        for host, port in addresses(server):
            print(f"serving on http://{_address(host, port)}/", file=sys.stderr, flush=True)
        server.run()
        return
    listening = _listen(config)
    host, port = listening.getsockname()[:2]
    bound = BoundAddress(host, port)
    _advertise(app, bound)  # type: ignore[arg-type]
    print(f"serving on http://{_address(host, port)}/ with {workers} workers", file=sys.stderr, flush=True)
    _supervise(app, config, listening, workers)


class BoundAddress:
    """What _advertise reads of a server: where it listens (for the pre-forking parent)."""

    def __init__(self, host: str, port: int) -> None:
        self.effective_host, self.effective_port = host, port


def _listen(config: Config) -> socket.socket:
    """The socket every worker accepts on: bound (the address, a real port for port 0) and listening."""
    try:
        infos = socket.getaddrinfo(config.host, config.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _name, address = infos[0]
        listening = socket.socket(family, kind, proto)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(1024)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise ServeError(f"cannot listen on {_address(config.host, config.port)}: {reason}") from exc
    except (ValueError, UnicodeError) as exc:  # a host name that cannot be encoded or looked up
        raise ServeError(f"cannot listen on {_address(config.host, config.port)}: {exc}") from exc
    listening.setblocking(False)
    return listening


class Balance:
    """Each worker's open connections, in memory the forked workers share (-1: no worker)."""

    def __init__(self, workers: int) -> None:
        self._memory = mmap.mmap(-1, 4 * workers)  # anonymous and shared: it survives fork
        self.counts = memoryview(self._memory).cast("i")
        for slot in range(workers):
            self.counts[slot] = -1

    def _fewest_elsewhere(self, slot: int) -> int | None:
        others = [n for i, n in enumerate(self.counts) if i != slot and n >= 0]
        return min(others) if others else None

    def may_accept(self, slot: int, mine: int) -> bool:
        """Publish ``mine`` for ``slot``; True when no other worker holds fewer connections."""
        self.counts[slot] = mine
        fewest = self._fewest_elsewhere(slot)
        return fewest is None or mine <= fewest

    def over_share(self, slot: int) -> bool:
        """Whether ``slot`` holds more than one connection more than the least busy other worker.

        Accepting by the counts cannot split every burst evenly: a worker still closing the
        connections of the last burst counts them and refuses, and keep-alive clients then stay
        where they landed. So a worker over its share closes a connection after an answer."""
        fewest = self._fewest_elsewhere(slot)
        return fewest is not None and self.counts[slot] > fewest + 1


def _balanced(server: Server, balance: Balance, slot: int) -> None:
    """Make this worker's listeners accept only while ``balance`` allows (least connections)."""
    for listener in _listeners(_map_of(server)):
        plain: Callable[[], bool] = listener.readable

        def readable(plain: Callable[[], bool] = plain, listener: Any = listener) -> bool:
            # Called by the event loop before each wait: a listener that is not readable is not
            # polled, and the others, which all share the socket, accept in its place.
            accepting = plain()  # always: it also closes connections idle too long
            mine = sum(isinstance(channel, HTTPChannel) for channel in listener._map.values())
            return balance.may_accept(slot, mine) and accepting

        listener.readable = readable
        listener.shed = _shedder(balance, slot)


SHED_EVERY = 0.05  # seconds between two connections a worker closes to rebalance: one at a time


def _shedder(balance: Balance, slot: int) -> Callable[[], bool]:
    """``shed()``: True when the answer being written should close its connection (read by
    BalancedTask from a request thread; at most one every SHED_EVERY seconds, since the counts
    only change once the event loop has closed the connection)."""
    lock = threading.Lock()
    last = [0.0]

    def shed() -> bool:
        if not balance.over_share(slot):
            return False
        with lock:
            now = time.monotonic()
            if now - last[0] < SHED_EVERY:
                return False
            last[0] = now
            return True

    return shed


def _supervise(app: Flask, config: Config, listening: socket.socket, workers: int) -> None:
    """Fork ``workers`` servers of ``listening``; start a new one when one dies; stop them all on
    SIGTERM or SIGINT. Each worker has a slot in the shared connection counts; a new worker
    takes the slot of the one it replaces."""
    children: dict[int, int] = {}  # pid -> slot
    balance = Balance(workers)
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        while len(children) < workers and not stopping:
            slot = min(set(range(workers)) - set(children.values()))
            balance.counts[slot] = 0
            children[_fork_worker(app, config, listening, balance, slot)] = slot
        try:
            pid, _status = os.wait()
        except ChildProcessError:
            continue
        except InterruptedError:
            continue
        slot = children.pop(pid, None)
        if slot is not None:
            balance.counts[slot] = -1  # no longer a worker: the others stop comparing with it
        if not stopping:
            print(f"worker {pid} ended; starting another", file=sys.stderr, flush=True)
            time.sleep(0.5)
    deadline = time.monotonic() + 10
    while children and time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid:
            children.pop(pid, None)
        else:
            time.sleep(0.05)
    for pid in children:
        os.kill(pid, signal.SIGKILL)


def _fork_worker(app: Flask, config: Config, listening: socket.socket, balance: Balance, slot: int) -> int:
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _die_with_parent()
        server = make_server(app, config, sockets=[listening])
        _balanced(server, balance, slot)
        server.run()
    except BaseException:  # noqa: BLE001 - a worker reports and ends; the parent starts another
        import traceback

        traceback.print_exc()
        status = 1
    finally:
        os._exit(status)


PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _die_with_parent() -> None:
    """A worker ends when the server that forked it is killed, even with -9."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux


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
    socket_map = _map_of(server)
    listeners = _listeners(socket_map)
    if listeners:
        listeners[0].trigger.pull_trigger(lambda: wasyncore.close_all(socket_map, ignore_all=True))
        _stop_workers(listeners)


def _map_of(server: Server) -> dict[int, Any]:
    return server.map if isinstance(server, MultiSocketServer) else server._map


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
