"""Start and stop one loopback ``xapian-tcpsrv`` per shard of a local index (one-machine use, tests).

On several machines each runs ``xapian-tcpsrv --port P DIR/shard-K.stub`` itself
(README: "When one machine is not enough"). Here the servers run in their own
process groups, on free ports (xapian-tcpsrv refuses port 0), and are recorded
in ``DIR/shards.json`` so that ``stop`` and the readers find them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from search.backends.xapian import INSTALL_HINT, require
from search.errors import IndexMissing, IndexProblem

SERVERS_FILE = "shards.json"
START_SECONDS = 15.0


def _stubs(root: Path) -> list[Path]:
    from search.backends.xapian.store import shard_stubs  # the layout's one definition

    return shard_stubs(root)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" not in status.read_text(errors="replace")


def recorded(root: Path) -> list[dict[str, object]]:
    """The servers recorded for ``root``, alive or not ([] when none or the record cannot be read)."""
    try:
        servers = json.loads((root / SERVERS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(servers, list) or not all(isinstance(s, dict) for s in servers):
        return []
    return servers


def running(root: Path) -> list[dict[str, object]]:
    """The servers recorded for ``root`` if every one is still alive ([] when one is not)."""
    servers = recorded(root)
    return servers if all(_alive(int(s.get("pid", 0))) for s in servers) else []


def addresses(root: Path) -> str:
    """The recorded servers as a ``shards`` setting: host:port,host:port. A dead one stays in the
    list: the reader then answers from the others and says a shard is missing (``dead`` says which)."""
    return ",".join(f"{s['host']}:{s['port']}" for s in recorded(root))


def dead(root: Path) -> list[str]:
    """A line for each recorded server that is no longer running, naming its shard, pid and port."""
    return [
        f"the server of shard {s.get('shard')} (pid {s.get('pid')}, {s.get('host')}:{s.get('port')}) recorded in "
        f"{root / SERVERS_FILE} is not running: restart the servers with `baheth shards start --index {root}`"
        for s in recorded(root)
        if not _alive(int(s.get("pid", 0)))  # type: ignore[call-overload]
    ]


def start(root: Path, host: str = "127.0.0.1") -> list[str]:
    """Start a server per shard (or return the running ones); returns once each answers."""
    xapian = require()
    binary = shutil.which("xapian-tcpsrv")
    if binary is None:
        raise IndexProblem(f"xapian-tcpsrv is not installed: {INSTALL_HINT}")
    stubs = _stubs(root)
    if not stubs:
        raise IndexMissing(f"no Xapian shards at {root}: build them with `baheth reindex --backend xapian`")
    already = running(root)
    if len(already) == len(stubs):
        return [f"{s['host']}:{s['port']}" for s in already]
    stop(root)
    servers = []
    try:
        for shard, stub in enumerate(stubs):
            port = _free_port(host)
            log = open(root / f"shard-{shard}.log", "ab")  # noqa: SIM115 - the server owns it
            process = subprocess.Popen(
                [binary, "--interface", host, "--port", str(port), "--quiet", str(stub)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as one, with its children
            )
            log.close()
            servers.append({"shard": shard, "host": host, "port": port, "pid": process.pid})
        for server in servers:
            _wait_until_it_answers(xapian, server)
    except BaseException:
        _stop(servers)
        raise
    tmp = root / f".{SERVERS_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(servers), encoding="utf-8")
    os.replace(tmp, root / SERVERS_FILE)
    return [f"{s['host']}:{s['port']}" for s in servers]


def _wait_until_it_answers(xapian: object, server: dict[str, object]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            db = xapian.remote_open(str(server["host"]), int(server["port"]), 2000, 2000)  # type: ignore[attr-defined]
            db.close()
            return
        except xapian.Error as exc:  # type: ignore[attr-defined]
            if not _alive(int(server["pid"])) or time.monotonic() > deadline:
                raise IndexProblem(
                    f"the server of shard {server['shard']} on {server['host']}:{server['port']} did not start ({exc})"
                ) from None
            time.sleep(0.1)


def _stop(servers: list[dict[str, object]]) -> None:
    for server in servers:
        try:
            os.killpg(int(server["pid"]), signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + 5
    for server in servers:
        pid = int(server["pid"])
        while _alive(pid) and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def stop(root: Path) -> int:
    """Stop the servers recorded for ``root``; returns how many were stopped."""
    try:
        servers = json.loads((root / SERVERS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    servers = [s for s in servers if isinstance(s, dict)] if isinstance(servers, list) else []
    _stop(servers)
    (root / SERVERS_FILE).unlink(missing_ok=True)
    return len(servers)
