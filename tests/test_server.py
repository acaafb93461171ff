"""A real `baheth serve` (waitress) on a loopback port."""

from __future__ import annotations

import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from conftest import FIXTURES, ROOT, SEED_ID, cli, get_json

QUERIES = ["الانترنت", "لبنان", "وزارة الخارجية", '"الأمم المتحدة"', "مصدر:bbc", "فيسبوك -تويتر", "كأس العالم"]


def test_eight_concurrent_clients_all_get_200(live_server) -> None:
    url, _ = live_server
    statuses: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + 3.0

    def client(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            q = urllib.parse.quote(QUERIES[(n + i) % len(QUERIES)])
            status, _ = get_json(f"{url}/api/search?q={q}&page={1 + i % 2}")
            with lock:
                statuses.append(status)
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) >= 16
    assert set(statuses) == {200}


def test_a_running_server_answers_from_a_new_index(live_server) -> None:
    url, index = live_server
    status, data = get_json(f"{url}/api/search?q=" + urllib.parse.quote("المريخ"))
    assert status == 200 and data["total"] == 1
    before = get_json(f"{url}/api/health")[1]["generation"]
    rebuilt = cli("reindex", ROOT / "seeds", "--index", index)
    assert rebuilt.returncode == 0, rebuilt.stderr
    status, data = get_json(f"{url}/api/search?q=" + urllib.parse.quote("المريخ"))
    assert status == 200 and data["total"] == 0  # the new index has only the seed
    health = get_json(f"{url}/api/health")[1]
    assert health["generation"] != before and health["documents"] == 1
    added = cli("add", FIXTURES / "extra.jsonl", "--index", index)
    assert added.returncode == 0, added.stderr
    assert get_json(f"{url}/api/search?q=" + urllib.parse.quote("المريخ"))[1]["total"] == 1
    assert get_json(f"{url}/api/doc/{SEED_ID}")[0] == 200


def test_workers_share_the_socket_and_stop_together(fresh_index: Path) -> None:
    """`baheth serve --workers 2`: two processes answer on one port; SIGTERM stops both."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT, free_port, get_json

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "search.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--index",
            str(fresh_index),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids: set[int] = set()
    try:
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            try:
                status, body = get_json(f"http://127.0.0.1:{port}/api/health")
            except OSError:
                time.sleep(0.2)
                continue
            assert status == 200 and body["worker"]["rss_mb"] > 0
            pids.add(body["worker"]["pid"])
        assert len(pids) == 2 and server.pid not in pids
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    time.sleep(0.5)
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and "zombie" not in _status(pid)]
    assert alive == []


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


def _two_workers(index: Path):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from conftest import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "serve", "--port", str(port), "--workers", "2", "--index", str(index)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if get_json(f"http://127.0.0.1:{port}/api/health")[0] == 200:
                return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError("the server did not start")


def _pids_of_connections(port: int, n: int) -> list[int]:
    """Open ``n`` keep-alive connections at once, then ask each which worker holds it (twice: it stays)."""
    import http.client
    import json

    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(n)]
    try:
        for connection in connections:
            connection.connect()
        pids = []
        for _ in range(2):
            asked = []
            for connection in connections:
                connection.request("GET", "/api/health")
                asked.append(json.loads(connection.getresponse().read())["worker"]["pid"])
            pids.append(asked)
        assert pids[0] == pids[1]  # a keep-alive connection stays with its worker
        return pids[0]
    finally:
        for connection in connections:
            connection.close()


def test_workers_share_keep_alive_connections_evenly(fresh_index: Path) -> None:
    """Least connections: 8 keep-alive clients on 2 workers are 4 and 4, every time (hashing them
    to per-worker sockets split them 6/2 one time in five, and one worker queued while the other idled)."""
    import collections
    import os
    import signal

    server, port = _two_workers(fresh_index)
    try:
        for _ in range(5):
            split = collections.Counter(_pids_of_connections(port, 8))
            assert sorted(split.values()) == [4, 4], split
            time.sleep(0.3)  # the closed connections leave both workers' counts
        # A worker killed with -9: its slot is cleared and a new worker takes it; every new
        # connection is still answered.
        victim = next(iter(split))
        os.kill(victim, signal.SIGKILL)
        started = time.monotonic()
        pids = _pids_of_connections(port, 6)
        assert victim not in pids and time.monotonic() - started < 10
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def test_a_worker_over_its_share_hands_connections_back(fresh_index: Path) -> None:
    """Keep-alive connections that landed unevenly are spread again: a worker holding more than
    one connection over the other closes one after an answer (``Connection: close``), and the
    client's new connection goes to the other worker."""
    import collections
    import http.client
    import json
    import os
    import signal

    def owner(connection: http.client.HTTPConnection) -> tuple[int, bool]:
        connection.request("GET", "/api/health")  # http.client reconnects after a close
        response = connection.getresponse()
        return json.loads(response.read())["worker"]["pid"], response.getheader("Connection", "") == "close"

    server, port = _two_workers(fresh_index)
    opened: list[http.client.HTTPConnection] = []

    def connect(n: int) -> list[http.client.HTTPConnection]:
        made = [http.client.HTTPConnection("127.0.0.1", port, timeout=15) for _ in range(n)]
        opened.extend(made)
        for connection in made:
            connection.connect()
        return made

    try:
        # Make the split uneven on purpose: 12 fillers split 6/6; close the 6 on one worker (A)
        # and stop the other (B), whose count stays at 6. The 8 clients then go to A until it
        # holds 7, the last one waits in the listening queue; then B's fillers close and B goes on:
        # 7 connections on A, 1 on B.
        fillers = connect(12)
        held = [owner(c)[0] for c in fillers]
        assert collections.Counter(held).most_common(1)[0][1] == 6
        a = held[0]
        b = next(pid for pid in held if pid != a)
        os.kill(b, signal.SIGSTOP)
        for connection, pid in zip(fillers, held, strict=True):
            if pid == a:
                connection.close()
        time.sleep(0.3)
        clients = connect(8)
        time.sleep(0.3)
        for connection, pid in zip(fillers, held, strict=True):
            if pid == b:
                connection.close()
        os.kill(b, signal.SIGCONT)
        closed = 0
        for _ in range(12):
            seen = [owner(c) for c in clients]
            closed += sum(was_closed for _pid, was_closed in seen)
            time.sleep(0.1)
        split = collections.Counter(pid for pid, _closed in seen)
        assert closed >= 1 and sorted(split.values()) in ([4, 4], [3, 5]), (closed, split)
    finally:
        for connection in opened:
            connection.close()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
